// GET /v1/sources (who made claims, with counts) and GET /v1/sources/{sourceId} (a source's claims
// by topic and metric as history points, and its record: revisions and checks against others).
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '@claimtrail/shared/db';
import {
  problemDetails,
  readErrorResponses,
  sourceQuery,
  sourceResponse,
  sourcesQuery,
  sourcesResponse,
  type SourceResponse,
} from '@claimtrail/shared/contract';
import { sourceSlug } from '@claimtrail/shared/events';
import type { createHttpApp } from '@claimtrail/shared/http';
import type { Scope } from '@claimtrail/shared/identity';
import { NotFoundError } from '@claimtrail/shared/errors';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { publishedByOf, type ReadContext, type ReadContexts } from './read-context.ts';
import type { Read, ReadGuard } from './read-guard.ts';
import type { ReadModels } from './read-models.ts';
import { checksOfSource, sourceRecord, type TopicChecks } from './source-record.ts';
import { loadCheckedTopics, loadSources, loadSourceSeries, loadStatedFigures } from './sources.sql.ts';
import { loadSummaryRows } from './summary.sql.ts';

type App = Awaited<ReturnType<typeof createHttpApp>>['app'];

/** The (topic, metric) series one page of a source's points reads at most: one history statement each. */
export const SOURCE_SERIES_PER_PAGE = 100;
/** The topics whose composite checks one answer works out at most: one summary's rows each. */
export const SOURCE_CHECKED_TOPICS = 20;

export interface SourceRoutesDeps {
  db: Kysely<Database>;
  models: ReadModels;
  contexts: ReadContexts;
  guard: ReadGuard;
  readScope: Scope | null;
  alignToleranceDays: number;
}

type Points = SourceResponse['metrics'];

export function registerSourceRoutes(app: App, deps: SourceRoutesDeps): void {
  const { db, models, contexts, guard, readScope } = deps;
  const security = readScope === null ? [] : [{ bearer: [] }];

  app.get(
    '/v1/sources',
    {
      config: { scope: readScope },
      schema: {
        summary: 'Sources, with the counts of their claims, topics, corrected and retracted claims',
        security,
        querystring: sourcesQuery,
        response: { 200: sourcesResponse, ...readErrorResponses },
      },
    },
    (req, reply) =>
      guard.handle(req, reply, async (read) => {
        const q = req.query;
        const after = q.cursor === undefined ? undefined : decodeCursor('sources', q.cursor).after;
        const ctx = await contexts.resolve(q);
        const sources = await read('sources', () =>
          loadSources(db, ctx, { limit: q.limit, ...(after === undefined ? {} : { after }) }),
        );
        const more = sources.length > q.limit;
        const shown = more ? sources.slice(0, q.limit) : sources;
        return {
          asOfSeq: ctx.asOfSeq,
          knownAt: ctx.knownAt,
          ...publishedByOf(ctx),
          sources: shown,
          nextCursor: more ? encodeCursor({ k: 'sources', after: shown.at(-1)!.id }) : null,
        };
      }),
  );

  app.get(
    '/v1/sources/:sourceId',
    {
      config: { scope: readScope },
      schema: {
        summary: 'A source, its claims by topic and metric, and its record: its revisions and its checks',
        security,
        params: z.object({ sourceId: sourceSlug }),
        querystring: sourceQuery,
        response: { 200: sourceResponse, 404: problemDetails, ...readErrorResponses },
      },
    },
    (req, reply) =>
      guard.handle(req, reply, async (read) => {
        const q = req.query;
        const { sourceId } = req.params;
        const after = q.cursor === undefined ? undefined : decodeCursor('source', q.cursor);
        const ctx = await contexts.resolve(q);
        const [source] = await read('sources', () => loadSources(db, ctx, { id: sourceId }));
        if (!source)
          throw new NotFoundError(
            ctx.past
              ? `source ${sourceId} was not known at ${ctx.knownAt}: not registered and no claim names it`
              : `source ${sourceId} is unknown: not registered and no claim names it`,
          );
        const includeRetracted = q.includeRetracted ?? false;
        const page = await pointsPage(read, ctx, { sourceId, includeRetracted, limit: q.limit, after });
        const record = await recordOf(read, ctx, sourceId);
        return {
          asOfSeq: ctx.asOfSeq,
          knownAt: ctx.knownAt,
          ...publishedByOf(ctx),
          source,
          metrics: page.metrics,
          record,
          nextCursor: page.next ? encodeCursor({ k: 'source', ...page.next }) : null,
        };
      }),
  );

  /**
   * One page of a source's points: its series in byte order of (topic, metric), each read by the
   * history itself (filtered to the source), so a point here is the history's point, status and
   * supersession included; up to `limit` points and SOURCE_SERIES_PER_PAGE series.
   */
  async function pointsPage(
    read: Read,
    ctx: ReadContext,
    q: {
      sourceId: string;
      includeRetracted: boolean;
      limit: number;
      after: { topic: string; metric: string; statedFrom?: string | undefined; seq?: number | undefined } | undefined;
    },
  ): Promise<{
    metrics: Points;
    next?: { topic: string; metric: string; statedFrom?: string; seq?: number };
  }> {
    const series = await read('sources', () =>
      loadSourceSeries(db, ctx, {
        sourceId: q.sourceId,
        includeRetracted: q.includeRetracted,
        limit: SOURCE_SERIES_PER_PAGE + 1,
        ...(q.after ? { after: { topic: q.after.topic, metric: q.after.metric } } : {}),
      }),
    );
    const metrics: Points = [];
    let left = q.limit;
    for (const [i, s] of series.entries()) {
      if (left === 0 || i === SOURCE_SERIES_PER_PAGE) return { metrics, next: { topic: s.topic, metric: s.metric } };
      // Within the cursor's series, after its point; a series that has gone since starts whole.
      const resume =
        q.after?.topic === s.topic &&
        q.after.metric === s.metric &&
        q.after.statedFrom !== undefined &&
        q.after.seq !== undefined
          ? { after: { statedFrom: q.after.statedFrom, seq: q.after.seq } }
          : {};
      const h = await read('sources', () =>
        models.history(ctx, {
          topic: s.topic,
          metric: s.metric,
          sources: [q.sourceId],
          includeRetracted: q.includeRetracted,
          limit: left,
          ...resume,
        }),
      );
      const points = h.series[0]?.points ?? [];
      if (points.length > 0) metrics.push({ topic: s.topic, metric: s.metric, unit: h.unit ?? '', points });
      left -= points.length;
      if (h.next) return { metrics, next: { topic: s.topic, metric: s.metric, ...h.next } };
    }
    return { metrics };
  }

  /**
   * The source's record over all its claims (not the page's): its revision steps, and its checks
   * against other sources as the summary pairs them (summary.ts), in each topic where it has a
   * composite or a part of one, up to
   * SOURCE_CHECKED_TOPICS topics; the others are named in `uncheckedTopics`.
   */
  async function recordOf(read: Read, ctx: ReadContext, sourceId: string): Promise<SourceResponse['record']> {
    const figures = await read('sources', () => loadStatedFigures(db, ctx, sourceId));
    const topics = await read('sources', () => loadCheckedTopics(db, ctx, sourceId));
    const checks: TopicChecks[] = [];
    for (const topic of topics.slice(0, SOURCE_CHECKED_TOPICS)) {
      const { claims, defs } = await read('sources', () => loadSummaryRows(db, ctx, topic));
      checks.push(...checksOfSource(sourceId, topic, claims, defs, deps.alignToleranceDays));
    }
    return {
      metrics: sourceRecord(sourceId, figures, checks),
      uncheckedTopics: topics.slice(SOURCE_CHECKED_TOPICS),
    };
  }
}
