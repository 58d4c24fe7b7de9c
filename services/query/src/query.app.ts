import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '@claimtrail/shared/db';
import {
  claimQuery,
  claimResponse,
  eventsQuery,
  eventsResponse,
  historyQuery,
  historyResponse,
  problemDetails,
  readErrorResponses,
  topicsQuery,
  topicsResponse,
} from '@claimtrail/shared/contract';
import { claimId as claimIdSchema, metricSlug, parseFuzzyDate, topicSlug } from '@claimtrail/shared/events';
import { cachedTokenStore, createHttpApp, type TokenStore } from '@claimtrail/shared/http';
import { chainHash } from '@claimtrail/shared/identity';
import { NotFoundError, UnavailableError, ValidationError } from '@claimtrail/shared/errors';
import type { Logger } from '@claimtrail/shared';
import { createReadContexts } from './read-context.ts';
import { createReadModels } from './read-models.ts';
import { registerAnalysisRoutes } from './analysis.routes.ts';

export interface QueryDeps {
  db: Kysely<Database>;
  logger: Logger;
  tokens: TokenStore;
  settings: { metaSchema: string; requireReadToken: boolean; ratePerMinute: number; alignToleranceDays?: number };
}

function dateBound(name: 'from' | 'to', v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const d = parseFuzzyDate(v);
  if (!d)
    throw new ValidationError(
      `${name} must be YYYY, YYYY-MM, YYYY-MM-DD or an RFC 3339 date-time, within the years 0001 to 9999`,
      [{ path: `query:/${name}`, message: 'invalid date' }],
    );
  // `from` includes the whole period it names; `to` too (its end is exclusive).
  return name === 'from' ? d.from : d.to;
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
  const contexts = createReadContexts(db, deps.settings.metaSchema);
  const models = createReadModels(db);
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
        return [err instanceof UnavailableError ? err.message : 'Postgres unreachable'];
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
    async (req) => {
      const ctx = await contexts.resolve(req.query);
      return { asOfSeq: ctx.asOfSeq, knownAt: ctx.knownAt, topics: await models.topics(ctx) };
    },
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
        response: { 200: historyResponse, ...readErrorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      const from = dateBound('from', q.from);
      const to = dateBound('to', q.to);
      const ctx = await contexts.resolve(q);
      const sources = q.source === undefined ? undefined : Array.isArray(q.source) ? q.source : [q.source];
      const h = await models.history(ctx, {
        topic: req.params.topic,
        metric: req.params.metric,
        ...(sources ? { sources } : {}),
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        includeRetracted: q.includeRetracted ?? false,
      });
      return {
        topic: req.params.topic,
        metric: req.params.metric,
        unit: h.unit,
        asOfSeq: ctx.asOfSeq,
        knownAt: ctx.knownAt,
        series: h.series,
      };
    },
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
    async (req) => {
      const ctx = await contexts.resolve(req.query);
      const c = await models.claim(ctx, req.params.claimId);
      if (!c)
        throw new NotFoundError(
          ctx.past ? `claim ${req.params.claimId} was not known at ${ctx.knownAt}` : `no claim ${req.params.claimId}`,
        );
      return { asOfSeq: ctx.asOfSeq, knownAt: ctx.knownAt, ...c };
    },
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
    async (req) => {
      const q = req.query;
      if (q.toSeq !== undefined && q.toSeq < q.fromSeq) {
        throw new ValidationError('toSeq must not be below fromSeq', [
          { path: 'query:/toSeq', message: 'must be >= fromSeq' },
        ]);
      }
      const ctx = await contexts.resolve(q);
      const { page, nextFromSeq } = await models.events(ctx, {
        fromSeq: q.fromSeq,
        limit: q.limit,
        verify: q.verify ?? false,
        ...(q.toSeq === undefined ? {} : { toSeq: q.toSeq }),
        ...(q.topic === undefined ? {} : { topic: q.topic }),
      });
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
        const expected = chainHash(r.prev_hash ?? '0'.repeat(64), r.payload);
        if (expected !== r.chain_hash) {
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
    },
  );

  registerAnalysisRoutes(app, { db, contexts, readScope, alignToleranceDays: deps.settings.alignToleranceDays });

  return {
    app,
    registry,
    contexts,
    async close() {
      await app.close();
      contexts.close();
    },
  };
}
