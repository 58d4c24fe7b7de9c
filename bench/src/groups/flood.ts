// A flood of anonymous reads must not starve the others (docs/query-limits.md). Over read models
// of 200,000 claims (245,000 generated events; 50,000 with --quick), `node
// services/query/src/main.ts` in a child process; a probe (another child) reads one normal history
// every 100 ms throughout, while a third child holds 1,500 connections that GET /v1/topics
// back to back for 60 s (15 s with --quick), ignoring Retry-After. The probe's latency before,
// during and after the flood says whether the history kept its lane, and how soon after the flood
// it was back to its usual latency.
import type { BenchContext } from '../context.ts';
import { percentile } from '../harness.ts';
import { addFigure, freePort, QUERY_MAIN, runLoad, startChild, waitReady } from '../product.ts';
import { foldedDataset } from './projector.ts';

/** Events of the read models: about 200,000 claims (ClaimRecorded) among them. */
const FULL_EVENTS = 245_000;
const QUICK_EVENTS = 50_000;
const FLOOD_CLIENTS = 1500;
/** A normal read: one metric of one of the 50 ordinary topics (about 700 points at 200k claims). */
const PROBE_PATH = '/v1/topics/topic-7/metrics/killed/history';
const FLOOD_PATH = '/v1/topics';
const PROBE_INTERVAL_MS = 100;
/** Usual latency: at most this many times the probe's p99 before the flood (and 20 ms over it). */
const USUAL_FACTOR = 2;

export async function runFlood(ctx: BenchContext): Promise<void> {
  const events = ctx.quick ? QUICK_EVENTS : FULL_EVENTS;
  const floodMs = ctx.quick ? 15_000 : 60_000;
  const beforeMs = ctx.quick ? 5_000 : 10_000;
  const afterMs = ctx.quick ? 10_000 : 15_000;
  const data = await foldedDataset(ctx, events);
  const pool = await ctx.pool(1);
  const schema = `${data.p.base}_rm`;
  const counted = await pool.query<{ claims: number; points: number }>(
    `select count(distinct claim_id)::int as claims,
            count(*) filter (where topic = 'topic-7' and metric = 'killed' and seq_to is null and status <> 'retracted')::int as points
       from "${schema}".claim_versions`,
  );
  const { claims, points } = counted.rows[0]!;
  ctx.log(`flood: ${claims.toLocaleString('en-US')} claims stored, the probe's history holds ${points} points`);

  const port = await freePort();
  const server = startChild(ctx, 'query (flood)', QUERY_MAIN, [], { ...data.p.env, QUERY_PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/readyz`, server);
  // Warm-up: the first requests compile the hot paths and fill Postgres's cache (not measured).
  await runLoad(ctx, { mode: 'get', url, clients: 4, paths: [PROBE_PATH, FLOOD_PATH], requests: 40 });

  const probeMs = beforeMs + floodMs + afterMs;
  const probing = runLoad(ctx, {
    mode: 'probe',
    url,
    paths: [PROBE_PATH],
    intervalMs: PROBE_INTERVAL_MS,
    durationMs: probeMs,
  });
  await new Promise((r) => setTimeout(r, beforeMs));
  ctx.log(`flood: ${FLOOD_CLIENTS} connections GET ${FLOOD_PATH} for ${floodMs / 1000} s`);
  const flood = await runLoad(ctx, {
    mode: 'flood',
    url,
    clients: FLOOD_CLIENTS,
    paths: [FLOOD_PATH],
    durationMs: floodMs,
  });
  const probe = await probing;
  const rss = server.rssMb();
  await server.stop();

  const samples = probe.samples ?? [];
  const floodStart = flood.startedAt!;
  const floodEnd = flood.endedAt!;
  // The first second of the probe is its own start-up, not the service's usual latency.
  const before = samples.filter(([at]) => at < floodStart && at >= samples[0]![0] + 1000);
  const during = samples.filter(([at]) => at >= floodStart && at < floodEnd);
  const after = samples.filter(([at]) => at >= floodEnd);
  const ms = (xs: [number, number, number][]) => xs.map(([, l]) => l);
  if (before.length < 10 || during.length < 10 || after.length < 10)
    throw new Error(`too few probes: ${before.length} before, ${during.length} during, ${after.length} after`);
  const usualP50 = percentile(ms(before), 50);
  const usualP99 = percentile(ms(before), 99);
  const usual = Math.max(USUAL_FACTOR * usualP99, usualP99 + 20);
  // Back to usual: from the first probe after the flood from which every later one is usual.
  let lastUnusual = -1;
  after.forEach(([, l, status], i) => {
    if (l > usual || status !== 200) lastUnusual = i;
  });
  const recoveryS =
    lastUnusual === after.length - 1
      ? afterMs / 1000
      : lastUnusual < 0
        ? 0
        : (after[lastUnusual + 1]![0] - floodEnd) / 1000;
  const probeErrors = samples.filter(([, , status]) => status !== 200).length;
  const statuses = flood.statuses ?? {};
  const other = Object.entries(statuses)
    .filter(([s]) => s !== '200' && s !== '503')
    .reduce((n, [, c]) => n + c, 0);

  const dataset = `${claims.toLocaleString('en-US')} claims (${events.toLocaleString('en-US')} events)`;
  const probeNote = `GET ${PROBE_PATH} (${points} points) every ${PROBE_INTERVAL_MS} ms from one client, on ${dataset}`;
  const floodNote = `${FLOOD_CLIENTS} keep-alive connections GET ${FLOOD_PATH} back to back for ${floodMs / 1000} s, ignoring Retry-After; answers: ${JSON.stringify(statuses)}`;
  addFigure(
    ctx,
    'flood.history.before.p50',
    'ms',
    [usualP50],
    `${probeNote}; the ${before.length} probes before the flood`,
  );
  addFigure(
    ctx,
    'flood.history.before.p99',
    'ms',
    [usualP99],
    `${probeNote}; the ${before.length} probes before the flood`,
  );
  addFigure(
    ctx,
    'flood.history.during.p50',
    'ms',
    [percentile(ms(during), 50)],
    `${probeNote}; ${during.length} probes during: ${floodNote}`,
  );
  addFigure(
    ctx,
    'flood.history.during.p99',
    'ms',
    [percentile(ms(during), 99)],
    `${probeNote}; ${during.length} probes during: ${floodNote}`,
  );
  addFigure(
    ctx,
    'flood.history.during.max',
    'ms',
    [Math.max(...ms(during))],
    `${probeNote}; ${during.length} probes during the flood`,
  );
  addFigure(
    ctx,
    'flood.history.after.p50',
    'ms',
    [percentile(ms(after.filter(([at]) => at >= floodEnd + 5000)), 50)],
    `${probeNote}; the probes from 5 s after the flood on`,
  );
  addFigure(
    ctx,
    'flood.history.recovery',
    's',
    [recoveryS],
    `from the flood's end until every later probe answered 200 within ${usual.toFixed(0)} ms (${USUAL_FACTOR} × the p99 before, at least 20 ms over it); ${afterMs / 1000} s means never within the run`,
  );
  addFigure(
    ctx,
    'flood.history.errors',
    '%',
    [(100 * probeErrors) / samples.length],
    `probes not answered 200 (of ${samples.length})`,
  );
  addFigure(
    ctx,
    'flood.topics.ok',
    'rows/s',
    [(statuses['200'] ?? 0) / flood.seconds],
    `${floodNote}; 200 answers a second, median ${flood.okP50Ms?.toFixed(1)} ms, p99 ${flood.okP99Ms?.toFixed(1)} ms`,
  );
  addFigure(
    ctx,
    'flood.topics.refused',
    '%',
    [(100 * (statuses['503'] ?? 0)) / Math.max(1, flood.requests)],
    `${floodNote}; the share answered 503 with Retry-After`,
  );
  addFigure(
    ctx,
    'flood.topics.other',
    '%',
    [(100 * other) / Math.max(1, flood.requests)],
    `${floodNote}; answers neither 200 nor 503 (0: no answer at all): ${flood.errorSamples.join(' | ')}`,
  );
  addFigure(ctx, 'flood.query.rss', 'MB', [rss], "the query service's resident memory at the end of the run");
}
