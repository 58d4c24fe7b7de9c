// freshness. A load generator in a child process offers a steady 1,000
// events/s (reports of 10 claims, open loop, sent on a timer whatever the answers do). After each
// 202 it asks the query API for the report's last claim with `minSeq` = the answer's lastSeq (the
// query waits until the projection reached it) and times 202 → 200. Measured twice:
// - `freshness.*`: `claimtrail serve` (ingest, projector and query in one process, as the demo
//   runs). The goal is on this one.
// - `freshness.split.*`: ingest, projector and query as three services, as docker-compose deploys
//   them. On a slow machine one event loop cannot do all three at 1,000 events/s; the CPU figures
//   of both say how much of a core each process needed.
import type { BenchContext } from '../context.ts';
import { addCpuFigures, startCpuMeter, type CpuReading, type ProcessGroup } from '../cpu.ts';
import { percentile } from '../harness.ts';
import {
  addFigure,
  freePort,
  INGEST_MAIN,
  migrateAndToken,
  PROJECTOR_MAIN,
  productEnv,
  QUERY_MAIN,
  runLoad,
  startChild,
  startServe,
  waitReady,
  type Child,
} from '../product.ts';

/**
 * The offered load: the goal's 1,000 events/s, or BENCH_FRESHNESS_RATE=<events/s> (to read the
 * CPU per event of a machine that is not saturated; the goals then say so). Throws on a bad value.
 */
export function offeredEventsPerS(): number {
  const given = process.env.BENCH_FRESHNESS_RATE;
  if (given === undefined || given === '') return 1_000;
  const v = Number(given);
  if (!Number.isFinite(v) || v < 11 || v > 100_000)
    throw new Error(`BENCH_FRESHNESS_RATE=${given}: must be a number of events/s from 11 to 100000`);
  return v;
}

export async function runFreshness(ctx: BenchContext): Promise<void> {
  // One process: claimtrail serve.
  {
    const { serve, token, projectorPort, ingestUrl, queryUrl } = await startServe(ctx, 'fresh');
    await measureFreshness(ctx, {
      prefix: 'freshness',
      what: 'claimtrail serve (one process) in a child',
      ingestUrl,
      queryUrl,
      token,
      groups: { serve: { pid: serve.pid } },
    });
    if (process.env.BENCH_DEBUG) await logProjectorMetrics(ctx, projectorPort);
    await serve.stop();
  }
  // Three processes, as deployed.
  {
    const p = await productEnv(ctx, 'freshsplit');
    const token = await migrateAndToken(ctx, p);
    const [ingestPort, queryPort, projectorPort] = [await freePort(), await freePort(), await freePort()];
    const children: Child[] = [
      startChild(ctx, 'ingest', INGEST_MAIN, [], { ...p.env, INGEST_PORT: String(ingestPort) }),
      startChild(ctx, 'projector', PROJECTOR_MAIN, [], { ...p.env, PROJECTOR_PORT: String(projectorPort) }),
      startChild(ctx, 'query', QUERY_MAIN, [], { ...p.env, QUERY_PORT: String(queryPort) }),
    ];
    const [ingest, projector, query] = children as [Child, Child, Child];
    await waitReady(`http://127.0.0.1:${ingestPort}/readyz`, ingest, 60_000);
    await waitReady(`http://127.0.0.1:${projectorPort}/readyz`, projector, 60_000);
    await waitReady(`http://127.0.0.1:${queryPort}/readyz`, query, 60_000);
    await measureFreshness(ctx, {
      prefix: 'freshness.split',
      what: 'ingest, projector and query as three child processes',
      ingestUrl: `http://127.0.0.1:${ingestPort}`,
      queryUrl: `http://127.0.0.1:${queryPort}`,
      token,
      groups: { ingest: { pid: ingest.pid }, projector: { pid: projector.pid }, query: { pid: query.pid } },
    });
    for (const c of children) await c.stop();
  }
}

async function measureFreshness(
  ctx: BenchContext,
  o: {
    prefix: string;
    what: string;
    ingestUrl: string;
    queryUrl: string;
    token: string;
    groups: Record<string, ProcessGroup>;
  },
): Promise<void> {
  const durationMs = ctx.quick ? 1_500 : 10_000;
  const warmupMs = ctx.quick ? 500 : 1_000;
  const p50: number[] = [];
  const p99: number[] = [];
  const achieved: number[] = [];
  const cpu: { reading: CpuReading; eventsPerSecond: number }[] = [];
  let seen = 0;
  const load = (ms: number, warmMs: number, tag: string) =>
    runLoad(ctx, {
      mode: 'fresh',
      url: o.ingestUrl,
      queryUrl: o.queryUrl,
      token: o.token,
      claims: 10,
      eventsPerSec: offeredEventsPerS(),
      durationMs: ms,
      warmupMs: warmMs,
      tag: `${ctx.runId}-${o.prefix}-${tag}`,
    });
  // Once, on the freshly started services: their first seconds of load are V8's (compiling the hot
  // paths, sizing the heap), and without this the first rep's p99 measured them (0.9–1.4 s,
  // against < 100 ms in the later reps).
  const startupWarmupMs = ctx.quick ? 1_000 : 3_000;
  ctx.log(`${o.prefix}: warming the services up for ${startupWarmupMs / 1000} s`);
  await load(startupWarmupMs, 0, 'startup');
  for (let rep = 1; rep <= ctx.reps; rep++) {
    const meter = startCpuMeter({ ...o.groups, postgres: { name: 'postgres' }, nats: { name: 'nats-server' } });
    const r = await load(durationMs, warmupMs, String(rep));
    const reading = meter.stop();
    if (r.errors > 0) throw new Error(`${r.errors} of ${r.requests} reports failed: ${r.errorSamples.join(' | ')}`);
    const v = r.visibleMs ?? [];
    if (v.length === 0) throw new Error('no report became visible');
    seen += v.length;
    p50.push(percentile(v, 50));
    p99.push(percentile(v, 99));
    achieved.push(r.events / r.seconds);
    cpu.push({ reading, eventsPerSecond: r.events / r.seconds });
    ctx.log(
      `${o.prefix} rep ${rep}: ${v.length} reports, p50 ${p50.at(-1)!.toFixed(1)} ms, p99 ${p99.at(-1)!.toFixed(1)} ms`,
    );
  }
  const how = `${o.what}; reports of 10 claims (11 events) offered at ${offeredEventsPerS()} events/s open loop from a separate process for ${durationMs / 1000} s after ${warmupMs / 1000} s warm-up a rep (and one ${startupWarmupMs / 1000} s warm-up load when the services started); time from ingest's 202 to GET /v1/claims/<last claim>?minSeq=<lastSeq> answering 200 (${seen} reports in all)`;
  addFigure(ctx, `${o.prefix}.p50`, 'ms', p50, how);
  addFigure(ctx, `${o.prefix}.p99`, 'ms', p99, how);
  addFigure(ctx, `${o.prefix}.offered`, 'events/s', achieved, 'events/s accepted (202) during the freshness reps');
  addCpuFigures(
    ctx,
    o.prefix,
    cpu,
    'over the whole load run, warm-up included; the machine figure also holds the load generator and its queries',
  );
}

async function logProjectorMetrics(ctx: BenchContext, projectorPort: number): Promise<void> {
  const m = await (await fetch(`http://127.0.0.1:${projectorPort}/metrics`)).text();
  ctx.log(
    m
      .split('\n')
      .filter((l) => /^projector_(batch_seconds_(sum|count)|last_seq|events_applied)/.test(l))
      .join(' | '),
  );
}
