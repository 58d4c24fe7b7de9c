// The analysis and the web page: GET /v1/topics/{topic}/summary, /timeline, the sources and their
// records (sources.routes.ts), the live feed (server-sent events) and the page with its static assets.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '@claimtrail/shared/db';
import {
  problemDetails,
  readErrorResponses,
  summaryQuery,
  summaryResponse,
  timelineQuery,
  timelineResponse,
} from '@claimtrail/shared/contract';
import { topicSlug } from '@claimtrail/shared/events';
import type { createHttpApp } from '@claimtrail/shared/http';
import type { Scope } from '@claimtrail/shared/identity';
import { NotFoundError } from '@claimtrail/shared/errors';
import { requireKnown } from './known-names.ts';
import { publishedByOf, type ReadContexts } from './read-context.ts';
import type { ReadGuard } from './read-guard.ts';
import { createReadModels } from './read-models.ts';
import { registerSourceRoutes } from './sources.routes.ts';
import { summarise } from './summary.ts';
import { loadSummaryRows } from './summary.sql.ts';

type App = Awaited<ReturnType<typeof createHttpApp>>['app'];

export interface AnalysisDeps {
  db: Kysely<Database>;
  contexts: ReadContexts;
  /** Lanes, cancellation on disconnect and the timeout as 503, as the other read routes have them. */
  guard: ReadGuard;
  /** Open /v1/live streams per client address; past it, 429 with Retry-After. */
  liveStreamsPerClient: number;
  /** The scope reads need, or null when reads are open. */
  readScope: Scope | null;
  /** The summary pairs claims whose valid times lie at most this many days apart; further apart, only counted. */
  alignToleranceDays?: number | undefined;
}

/** Default for CLAIMTRAIL_ALIGN_TOLERANCE_DAYS: about a month, the coarsest common date precision. */
export const DEFAULT_ALIGN_TOLERANCE_DAYS = 31;

const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), '../public');
const require = createRequire(import.meta.url);

/**
 * Every static file the page may load: a fixed list, so no path from a URL reaches the file
 * system. A Map, not an object: `constructor` or `__proto__` must not find Object.prototype's.
 */
const ASSETS = new Map<string, { path: () => string; type: string }>([
  ['api.js', { path: () => join(PUBLIC_DIR, 'api.js'), type: 'text/javascript; charset=utf-8' }],
  ['app.js', { path: () => join(PUBLIC_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' }],
  ['chart.js', { path: () => join(PUBLIC_DIR, 'chart.js'), type: 'text/javascript; charset=utf-8' }],
  ['chart-model.js', { path: () => join(PUBLIC_DIR, 'chart-model.js'), type: 'text/javascript; charset=utf-8' }],
  ['claim-view.js', { path: () => join(PUBLIC_DIR, 'claim-view.js'), type: 'text/javascript; charset=utf-8' }],
  ['dom.js', { path: () => join(PUBLIC_DIR, 'dom.js'), type: 'text/javascript; charset=utf-8' }],
  ['event-stream.js', { path: () => join(PUBLIC_DIR, 'event-stream.js'), type: 'text/javascript; charset=utf-8' }],
  ['format.js', { path: () => join(PUBLIC_DIR, 'format.js'), type: 'text/javascript; charset=utf-8' }],
  ['live-feed.js', { path: () => join(PUBLIC_DIR, 'live-feed.js'), type: 'text/javascript; charset=utf-8' }],
  ['pages.js', { path: () => join(PUBLIC_DIR, 'pages.js'), type: 'text/javascript; charset=utf-8' }],
  ['router.js', { path: () => join(PUBLIC_DIR, 'router.js'), type: 'text/javascript; charset=utf-8' }],
  ['source-links.js', { path: () => join(PUBLIC_DIR, 'source-links.js'), type: 'text/javascript; charset=utf-8' }],
  ['source-view.js', { path: () => join(PUBLIC_DIR, 'source-view.js'), type: 'text/javascript; charset=utf-8' }],
  ['show-error.js', { path: () => join(PUBLIC_DIR, 'show-error.js'), type: 'text/javascript; charset=utf-8' }],
  ['state.js', { path: () => join(PUBLIC_DIR, 'state.js'), type: 'text/javascript; charset=utf-8' }],
  ['summary-format.js', { path: () => join(PUBLIC_DIR, 'summary-format.js'), type: 'text/javascript; charset=utf-8' }],
  ['token-prompt.js', { path: () => join(PUBLIC_DIR, 'token-prompt.js'), type: 'text/javascript; charset=utf-8' }],
  ['topic-view.js', { path: () => join(PUBLIC_DIR, 'topic-view.js'), type: 'text/javascript; charset=utf-8' }],
  ['topics-view.js', { path: () => join(PUBLIC_DIR, 'topics-view.js'), type: 'text/javascript; charset=utf-8' }],
  ['favicon.svg', { path: () => join(PUBLIC_DIR, 'favicon.svg'), type: 'image/svg+xml' }],
  ['style.css', { path: () => join(PUBLIC_DIR, 'style.css'), type: 'text/css; charset=utf-8' }],
  ['uPlot.esm.js', { path: () => require.resolve('uplot/dist/uPlot.esm.js'), type: 'text/javascript; charset=utf-8' }],
  ['uPlot.min.css', { path: () => require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' }],
]);

// Everything the page loads comes from this origin; markup from data could not run anyway
// (the page writes text with textContent), and this makes sure.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export function registerAnalysisRoutes(app: App, deps: AnalysisDeps): void {
  const { db, contexts, guard, readScope } = deps;
  const tolerance = deps.alignToleranceDays ?? DEFAULT_ALIGN_TOLERANCE_DAYS;
  const security = readScope === null ? [] : [{ bearer: [] }];

  app.get(
    '/v1/topics/:topic/summary',
    {
      config: { scope: readScope },
      schema: {
        summary:
          'Per metric: the latest claim per source, the envelope across sources, the conflicts between sources and the composite checks, claims paired by time',
        security,
        params: z.object({ topic: topicSlug }),
        querystring: summaryQuery,
        response: { 200: summaryResponse, 404: problemDetails, ...readErrorResponses },
      },
    },
    (req, reply) =>
      guard.handle(req, reply, async (read) => {
        const ctx = await contexts.resolve(req.query);
        const { claims, defs } = await read('summary', () => loadSummaryRows(db, ctx, req.params.topic));
        if (claims.length === 0) await read('summary', () => requireKnown(db, ctx, { topic: req.params.topic }));
        return {
          topic: req.params.topic,
          asOfSeq: ctx.asOfSeq,
          knownAt: ctx.knownAt,
          ...publishedByOf(ctx),
          alignToleranceDays: tolerance,
          metrics: summarise(claims, defs, tolerance),
        };
      }),
  );

  app.get(
    '/v1/topics/:topic/timeline',
    {
      config: { scope: readScope },
      schema: {
        summary: 'The instants at which something about the topic became known (transaction time)',
        security,
        params: z.object({ topic: topicSlug }),
        querystring: timelineQuery,
        response: { 200: timelineResponse, 404: problemDetails, ...readErrorResponses },
      },
    },
    (req, reply) =>
      guard.handle(req, reply, async (read) => {
        const ctx = await contexts.resolve(req.query);
        const rows = await read('timeline', () =>
          sql<{ known_at: Date; seq: number; events: number; types: string[] }>`
        select known_at, max(seq) as seq, count(*)::int as events, array_agg(distinct type) filter (where type is not null) as types
          from ${sql.table(`${ctx.schema}.event_ledger`)}
         where topic = ${req.params.topic}
         group by known_at
         order by known_at
         limit 5000`.execute(db),
        );
        if (rows.rows.length === 0) await read('timeline', () => requireKnown(db, ctx, { topic: req.params.topic }));
        const t = (name: string) => sql.table(`${ctx.schema}.${name}`);
        const published = await read('timeline', () =>
          sql<{ published_at: string; published_to: Date; reports: number }>`
        select r.published_at, min(r.published_to) as published_to, count(distinct r.report_id)::int as reports
          from ${t('claim_versions')} cv
          join ${t('claim_citations')} c on c.claim_id = cv.claim_id
          join ${t('reports')} r on r.report_id = c.report_id
         where cv.topic = ${req.params.topic} and cv.seq_to is null
         group by r.published_at
         order by 2, 1
         limit 5000`.execute(db),
        );
        return {
          topic: req.params.topic,
          asOfSeq: ctx.asOfSeq,
          published: published.rows.map((r) => ({
            publishedAt: r.published_at,
            to: new Date(r.published_to).toISOString(),
            reports: r.reports,
          })),
          instants: rows.rows.map((r) => ({
            knownAt: new Date(r.known_at).toISOString(),
            seq: Number(r.seq),
            events: r.events,
            types: r.types ?? [],
          })),
        };
      }),
  );

  registerSourceRoutes(app, {
    db,
    models: createReadModels(db),
    contexts,
    guard,
    readScope,
    alignToleranceDays: tolerance,
  });

  // The one checkpoint watcher, which minSeq reads wait on too (checkpoint-watcher.ts).
  const feed = contexts.watcher;
  const streams = new Set<() => void>();
  /** Open streams per client address. */
  const perAddress = new Map<string, number>();
  app.get(
    '/v1/live',
    {
      config: { scope: readScope },
      schema: {
        summary: 'Server-sent events: `event: seq` with `{ "asOfSeq" }` now and whenever the projection advances',
        security,
        querystring: z.strictObject({}),
      },
    },
    async (req, reply) => {
      const open = perAddress.get(req.ip) ?? 0;
      if (open >= deps.liveStreamsPerClient) {
        void reply.header('retry-after', '30');
        throw Object.assign(
          new Error(
            `this address has ${open} live streams open, the most one address may hold; close one, or retry in 30 s`,
          ),
          { statusCode: 429 },
        );
      }
      perAddress.set(req.ip, open + 1);
      void reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': req.id,
      });
      res.write('retry: 2000\n\n');
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      const unsubscribe = feed.subscribe((seq) =>
        res.write(`event: seq\ndata: ${JSON.stringify({ asOfSeq: seq })}\n\n`),
      );
      const end = () => {
        if (!streams.delete(end)) return;
        clearInterval(heartbeat);
        unsubscribe();
        const left = (perAddress.get(req.ip) ?? 1) - 1;
        if (left > 0) perAddress.set(req.ip, left);
        else perAddress.delete(req.ip);
        if (!res.writableEnded) res.end();
      };
      streams.add(end);
      res.on('close', end);
    },
  );
  // An open event stream would keep app.close() waiting for ever: end them all first.
  app.addHook('preClose', (done) => {
    for (const end of [...streams]) end();
    feed.close();
    done();
  });

  const page = async (_req: unknown, reply: { header(k: string, v: string): unknown; type(t: string): unknown }) => {
    reply.header('content-security-policy', CSP);
    reply.header('cache-control', 'no-cache');
    reply.type('text/html; charset=utf-8');
    return readFile(join(PUBLIC_DIR, 'index.html'), 'utf8');
  };
  app.get('/', { schema: { hide: true } }, page);
  app.get('/topics/:topic', { schema: { hide: true } }, page);
  app.get('/claims/:claimId', { schema: { hide: true } }, page);
  app.get('/sources/:sourceId', { schema: { hide: true } }, page);
  // Browsers ask for /favicon.ico by themselves (a JSON answer opened in a tab, say): the page's icon answers it.
  app.get('/favicon.ico', { schema: { hide: true } }, async (_req, reply) => {
    const icon = ASSETS.get('favicon.svg')!;
    reply.header('cache-control', 'no-cache');
    reply.header('x-content-type-options', 'nosniff');
    return reply.type(icon.type).send(await readFile(icon.path()));
  });
  app.get(
    '/assets/:file',
    { schema: { hide: true, params: z.object({ file: z.string().max(64) }) } },
    async (req, reply) => {
      const asset = ASSETS.get(req.params.file);
      if (!asset) throw new NotFoundError(`no asset ${req.params.file}`);
      reply.header('cache-control', 'no-cache');
      reply.header('x-content-type-options', 'nosniff');
      return reply.type(asset.type).send(await readFile(asset.path()));
    },
  );
}
