import { linkHolds } from '@claimtrail/shared/chain';
import type { FastifyReply } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { DEFAULT_READ_TIMEOUT_MS, poolOf, type Database } from '@claimtrail/shared/db';
import {
  claimQuery,
  claimResponse,
  eventsQuery,
  eventsResponse,
  historyQuery,
  historyResponse,
  metricQuery,
  metricResponse,
  metricsQuery,
  metricsResponse,
  problemDetails,
  readErrorResponses,
  topicsQuery,
  topicsResponse,
} from '@claimtrail/shared/contract';
import { claimId as claimIdSchema, metricSlug, topicSlug } from '@claimtrail/shared/events';
import { cachedTokenStore, createHttpApp, type TokenStore } from '@claimtrail/shared/http';
import { NotFoundError, UnavailableError, ValidationError } from '@claimtrail/shared/errors';
import type { Logger } from '@claimtrail/shared';
import { requireKnown } from './known-names.ts';
import { createReadContexts, publishedByOf, type ReadContext } from './read-context.ts';
import { createReadModels, type HistoryFilter } from './read-models.ts';
import { registerAnalysisRoutes } from './analysis.routes.ts';
import { createAnswerPacer } from './answer-pacer.ts';
import { createCancellableReads } from './cancellable-reads.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { acceptsCsv, sendHistoryCsv } from './history-csv.ts';
import { createReadGuard, type Read, type ReadLane } from './read-guard.ts';
import { createReadLanes } from './read-lanes.ts';
import { queryLimitsOf, type QueryLimitsOverride } from './query-limits.ts';
import { createTopicsCache } from './topics-cache.ts';

export interface QueryDeps {
  db: Kysely<Database>;
  logger: Logger;
  tokens: TokenStore;
  settings: {
    metaSchema: string;
    requireReadToken: boolean;
    ratePerMinute: number;
    alignToleranceDays?: number;
    /** The statement_timeout of `db`'s connections (createDb's statementTimeoutMs), named in the 503 it causes. */
    readTimeoutMs?: number;
    /** Bounds other than the defaults (query-limits.ts). */
    limits?: QueryLimitsOverride;
  };
}

/** The pg pool under `db`, when createDb made it: the statements to cancel are its clients'. */
function poolUnder(db: Kysely<Database>) {
  try {
    return poolOf(db);
  } catch {
    return undefined;
  }
}

/** Postgres tokens table: the query service talks to Postgres only. */
export function createPgTokenStore(db: Kysely<Database>, metaSchema: string): TokenStore {
  return {
    async lookup(hash) {
      const row = await db
        .withSchema(metaSchema)
        .selectFrom('api_tokens')
        .select(['principal', 'scopes'])
        .where('token_hash', '=', hash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return row ? { principal: row.principal, scopes: row.scopes } : undefined;
    },
  };
}

/** The query HTTP service over the read models (a read-only connection). */
export async function createQueryApp(deps: QueryDeps) {
  const { db } = deps;
  const limits = queryLimitsOf(deps.settings.limits);
  const reads = createCancellableReads(poolUnder(db), {
    onCancelError: (err) => deps.logger.warn({ err }, 'a cancel of an abandoned read could not be sent'),
  });
  const lanes = createReadLanes<ReadLane>({
    total: limits.readsInFlight,
    maxWaitMs: limits.laneWaitMs,
    lanes: limits.lanes,
  });
  const guard = createReadGuard({
    reads,
    lanes,
    pacer: createAnswerPacer(limits.answersPerTurn),
    timeoutMs: deps.settings.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS,
  });
  const contexts = createReadContexts(db, deps.settings.metaSchema, { shared: reads.shared });
  const models = createReadModels(db);
  const topicsNow = createTopicsCache({
    compute: (ctx) =>
      reads.shared(async () => {
        try {
          return await lanes.run('topics', () => models.topics(ctx));
        } catch (err) {
          throw guard.timeoutAsUnavailable(err);
        }
      }),
  });
  const tokens = cachedTokenStore(deps.tokens);
  const { app, registry } = await createHttpApp({
    title: 'claimtrail query',
    description: 'How each estimate changed, who said what when, and what was known at any instant.',
    logger: deps.logger,
    ratePerMinute: deps.settings.ratePerMinute,
    tokens,
    readiness: async () => {
      try {
        await contexts.resolve({});
        return [];
      } catch (err) {
        // What is down, not its error text (which can name hosts and users): the log has that.
        deps.logger.warn({ err }, 'not ready');
        if (err instanceof UnavailableError) return [err.message];
        return [
          (err as { code?: unknown }).code === '3D000'
            ? 'Postgres: the database does not exist (`claimtrail migrate` creates it)'
            : 'Postgres unreachable',
        ];
      }
    },
  });
  const readScope = deps.settings.requireReadToken ? ('read' as const) : null;
  const security = deps.settings.requireReadToken ? [{ bearer: [] }] : [];

  app.get(
    '/v1/topics',
    {
      config: { scope: readScope },
      schema: {
        summary: 'Topics and their metrics',
        security,
        querystring: topicsQuery,
        response: { 200: topicsResponse, ...readErrorResponses },
      },
    },
    (req, reply) =>
      guard.handle(req, reply, async (read) => {
        const q = req.query;
        const after = q.cursor === undefined ? undefined : decodeCursor('topics', q.cursor).after;
        const ctx = await contexts.resolve(q);
        if (!ctx.past && !ctx.publishedBy) {
          // Shared by every request at this asOfSeq, and sent as the JSON text it was kept as.
          const page = await topicsNow.page(ctx, after, q.limit);
          await guard.pace();
          // Already JSON: a plain reply sends a string as it is, without the route's serialiser.
          return (reply as FastifyReply)
            .type('application/json; charset=utf-8')
            .send(
              `{"asOfSeq":${ctx.asOfSeq},"knownAt":${JSON.stringify(ctx.knownAt)},"topics":${page.topics},"nextCursor":${page.nextCursor}}`,
            );
        }
        const topics = await read('topics', () =>
          models.topics(ctx, { limit: q.limit, ...(after === undefined ? {} : { after }) }),
        );
        const more = topics.length > q.limit;
        const shown = more ? topics.slice(0, q.limit) : topics;
        return {
          asOfSeq: ctx.asOfSeq,
          knownAt: ctx.knownAt,
          ...publishedByOf(ctx),
          topics: shown,
          nextCursor: more ? encodeCursor({ k: 'topics', after: shown.at(-1)!.topic }) : null,
        };
      }),
  );

  /** The history's filters from its query: the JSON pages and the CSV export read them alike. */
  function historyFilterOf(
    params: { topic: string; metric: string },
    q: {
      source?: string | string[] | undefined;
      includeRetracted?: boolean | undefined;
    },
  ): HistoryFilter {
    const sources = q.source === undefined ? undefined : Array.isArray(q.source) ? q.source : [q.source];
    return {
      topic: params.topic,
      metric: params.metric,
      ...(sources ? { sources } : {}),
      includeRetracted: q.includeRetracted ?? false,
    };
  }

  const csvExport = (read: Read, reply: FastifyReply, ctx: ReadContext, filter: HistoryFilter) =>
    sendHistoryCsv({
      reply,
      read,
      db,
      ctx,
      filter,
      timeoutMs: limits.exportTimeoutMs,
      stallMs: limits.exportStallMs,
    });

  app.get(
    '/v1/topics/:topic/metrics/:metric/history.csv',
    {
      config: { scope: readScope },
      schema: {
        summary: 'A metric’s history as CSV (RFC 4180): a header row, one row per point, streamed',
        security,
        params: z.object({ topic: topicSlug, metric: metricSlug }),
        querystring: historyQuery.omit({ limit: true, cursor: true }),
        response: { 404: problemDetails, ...readErrorResponses },
      },
    },
    (req, reply) =>
      guard.handle(req, reply, async (read) => {
        const filter = historyFilterOf(req.params, req.query);
        const ctx = await contexts.resolve(req.query);
        return csvExport(read, reply, ctx, filter);
      }),
  );

  app.get(
    '/v1/topics/:topic/metrics/:metric/history',
    {
      config: { scope: readScope },
      schema: {
        summary: 'How each source’s estimate of a metric changed',
        security,
        params: z.object({ topic: topicSlug, metric: metricSlug }),
        querystring: historyQuery,
        response: { 200: historyResponse, 404: problemDetails, ...readErrorResponses },
      },
    },
    (req, reply) =>
      guard.handle(req, reply, async (read) => {
        const q = req.query;
        const filter = historyFilterOf(req.params, q);
        if (acceptsCsv(req.headers.accept)) {
          // The export is the whole history: it takes no page.
          for (const name of ['limit', 'cursor'] as const)
            if (new URLSearchParams(req.url.split('?')[1] ?? '').has(name))
              throw new ValidationError(`a CSV export is the whole history and takes no ${name}`, [
                { path: `query:/${name}`, message: 'not taken with Accept: text/csv' },
              ]);
          return csvExport(read, reply, await contexts.resolve(q), filter);
        }
        const after = q.cursor === undefined ? undefined : decodeCursor('history', q.cursor);
        const ctx = await contexts.resolve(q);
        const { topic, metric } = req.params;
        const h = await read('history', () =>
          models.history(ctx, {
            ...filter,
            limit: q.limit,
            ...(after ? { after: { statedFrom: after.statedFrom, seq: after.seq } } : {}),
          }),
        );
        // Only an answer without points can be about an unknown name: the others pay nothing.
        if (h.series.length === 0) await read('history', () => requireKnown(db, ctx, { topic, metric }));
        return {
          topic: req.params.topic,
          metric: req.params.metric,
          unit: h.unit,
          asOfSeq: ctx.asOfSeq,
          knownAt: ctx.knownAt,
          ...publishedByOf(ctx),
          series: h.series,
          nextCursor: h.next ? encodeCursor({ k: 'history', ...h.next }) : null,
        };
      }),
  );

  app.get(
    '/v1/metrics',
    {
      config: { scope: readScope },
      schema: {
        summary: 'The metric definitions in force',
        security,
        querystring: metricsQuery,
        response: { 200: metricsResponse, ...readErrorResponses },
      },
    },
    (req, reply) =>
      guard.handle(req, reply, async (read) => {
        const q = req.query;
        const after = q.cursor === undefined ? undefined : decodeCursor('metrics', q.cursor).after;
        const ctx = await contexts.resolve(q);
        const metrics = await read('metrics', () =>
          models.metrics(ctx, { limit: q.limit, ...(after === undefined ? {} : { after }) }),
        );
        const more = metrics.length > q.limit;
        const shown = more ? metrics.slice(0, q.limit) : metrics;
        return {
          asOfSeq: ctx.asOfSeq,
          knownAt: ctx.knownAt,
          ...publishedByOf(ctx),
          metrics: shown,
          nextCursor: more ? encodeCursor({ k: 'metrics', after: shown.at(-1)!.metric }) : null,
        };
      }),
  );

  app.get(
    '/v1/metrics/:metric',
    {
      config: { scope: readScope },
      schema: {
        summary: 'A metric definition in force, with ETag "<seq>" (the seq of its MetricDefined)',
        security,
        params: z.object({ metric: metricSlug }),
        querystring: metricQuery,
        response: { 200: metricResponse, 404: problemDetails, ...readErrorResponses },
      },
    },
    (req, reply) =>
      guard.handle(req, reply, async (read) => {
        const ctx = await contexts.resolve(req.query);
        const m = await read('metrics', () => models.metric(ctx, req.params.metric));
        if (!m)
          throw new NotFoundError(
            ctx.past
              ? `metric ${req.params.metric} was not defined at ${ctx.knownAt}`
              : `metric ${req.params.metric} is not defined`,
          );
        void reply.header('etag', `"${m.seq}"`);
        return { asOfSeq: ctx.asOfSeq, knownAt: ctx.knownAt, ...publishedByOf(ctx), ...m };
      }),
  );

  app.get(
    '/v1/claims/:claimId',
    {
      config: { scope: readScope },
      schema: {
        summary: 'A claim as it stands (or stood), with every revision and citing report',
        security,
        params: z.object({ claimId: claimIdSchema }),
        querystring: claimQuery,
        response: { 200: claimResponse, 404: problemDetails, ...readErrorResponses },
      },
    },
    (req, reply) =>
      guard.handle(req, reply, async (read) => {
        const ctx = await contexts.resolve(req.query);
        const c = await read('claim', () => models.claim(ctx, req.params.claimId));
        if (!c)
          throw new NotFoundError(
            [
              ctx.past
                ? `claim ${req.params.claimId} was not known at ${ctx.knownAt}`
                : `no claim ${req.params.claimId}`,
              ctx.publishedBy ? ` cited by a report published by ${ctx.publishedBy.text}` : '',
            ].join(''),
          );
        return { asOfSeq: ctx.asOfSeq, knownAt: ctx.knownAt, ...publishedByOf(ctx), ...c };
      }),
  );

  app.get(
    '/v1/events',
    {
      config: { scope: 'audit:read' },
      schema: {
        summary: 'The raw event envelopes in seq order, with chain hashes (audit view)',
        security: [{ bearer: [] }],
        querystring: eventsQuery,
        response: { 200: eventsResponse, ...readErrorResponses },
      },
    },
    (req, reply) =>
      guard.handle(req, reply, async (read) => {
        const q = req.query;
        if (q.toSeq !== undefined && q.toSeq < q.fromSeq) {
          throw new ValidationError('toSeq must not be below fromSeq', [
            { path: 'query:/toSeq', message: 'must be >= fromSeq' },
          ]);
        }
        const ctx = await contexts.resolve(q);
        const { page, nextFromSeq } = await read('events', () =>
          models.events(ctx, {
            fromSeq: q.fromSeq,
            limit: q.limit,
            verify: q.verify ?? false,
            ...(q.toSeq === undefined ? {} : { toSeq: q.toSeq }),
            ...(q.topic === undefined ? {} : { topic: q.topic }),
          }),
        );
        const events = page.map((r) => {
          let event: unknown;
          try {
            event = JSON.parse(r.payload);
          } catch {
            event = r.payload;
          }
          return { seq: Number(r.seq), subject: r.subject, chainHash: r.chain_hash, event };
        });
        if (!q.verify) return { asOfSeq: ctx.asOfSeq, events, nextFromSeq };
        let firstMismatchSeq: number | null = null;
        for (const r of page) {
          if (!linkHolds(r.prev_hash, r.payload, r.chain_hash)) {
            firstMismatchSeq = Number(r.seq);
            break;
          }
        }
        return {
          asOfSeq: ctx.asOfSeq,
          events,
          nextFromSeq,
          verify: {
            ok: firstMismatchSeq === null,
            checked: page.length,
            firstMismatchSeq,
            detail:
              firstMismatchSeq === null
                ? `the chain hash of each of the ${page.length} events follows from its predecessor`
                : `the chain hash at seq ${firstMismatchSeq} does not follow from its predecessor and payload`,
          },
        };
      }),
  );

  registerAnalysisRoutes(app, {
    db,
    contexts,
    guard,
    readScope,
    alignToleranceDays: deps.settings.alignToleranceDays,
    liveStreamsPerClient: limits.liveStreamsPerClient,
  });

  return {
    app,
    registry,
    contexts,
    /** The read lanes' state (in flight, waiting, turned away). */
    lanes,
    /** Runs a handler as the routes do (lanes, cancellation on disconnect, the timeout as 503). */
    guard,
    async close() {
      await app.close();
      contexts.close();
      lanes.close();
      await reads.close();
    },
  };
}
