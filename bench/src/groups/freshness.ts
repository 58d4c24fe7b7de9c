// Item 4 of issue 5: freshness. `claimtrail serve` (ingest, projector and query in one process,
// as the demo runs) in a child process; a load generator in another child offers a steady
// 1,000 events/s (reports of 10 claims, open loop, sent on a timer whatever the answers do).
// After each 202 it asks the query API for the report's last claim with `minSeq` = the answer's
// lastSeq (the query waits until the projection reached it) and times 202 → 200.
import type { BenchContext } from '../context.ts';
import { percentile } from '../harness.ts';
import { addFigure, CLI, freePort, migrateAndToken, productEnv, runLoad, startChild } from '../product.ts';

export const OFFERED_EVENTS_PER_S = 1_000;

export async function runFreshness(ctx: BenchContext): Promise<void> {
  const p = await productEnv(ctx, 'fresh');
  const token = await migrateAndToken(ctx, p);
  const [ingestPort, queryPort, projectorPort] = [await freePort(), await freePort(), await freePort()];
  const serve = startChild(ctx, 'claimtrail serve', CLI, ['serve'], {
    ...p.env,
    INGEST_PORT: String(ingestPort),
    QUERY_PORT: String(queryPort),
    PROJECTOR_PORT: String(projectorPort),
  });
  await serve.waitForLine(/claimtrail is running/, 60_000);
  const durationMs = ctx.quick ? 2_000 : 10_000;
  const warmupMs = ctx.quick ? 500 : 1_000;
  const p50: number[] = [];
  const p99: number[] = [];
  const achieved: number[] = [];
  let seen = 0;
  for (let rep = 1; rep <= ctx.reps; rep++) {
    const r = await runLoad(ctx, {
      mode: 'fresh',
      url: `http://127.0.0.1:${ingestPort}`,
      queryUrl: `http://127.0.0.1:${queryPort}`,
      token,
      claims: 10,
      eventsPerSec: OFFERED_EVENTS_PER_S,
      durationMs,
      warmupMs,
      tag: `${ctx.runId}-fresh-${rep}`,
    });
    if (r.errors > 0) throw new Error(`${r.errors} of ${r.requests} reports failed: ${r.errorSamples.join(' | ')}`);
    const v = r.visibleMs ?? [];
    if (v.length === 0) throw new Error('no report became visible');
    seen += v.length;
    p50.push(percentile(v, 50));
    p99.push(percentile(v, 99));
    achieved.push(r.events / r.seconds);
    ctx.log(`rep ${rep}: ${v.length} reports, p50 ${p50.at(-1)!.toFixed(1)} ms, p99 ${p99.at(-1)!.toFixed(1)} ms`);
  }
  const how = `claimtrail serve (one process) in a child; reports of 10 claims (11 events) offered at ${OFFERED_EVENTS_PER_S} events/s open loop from a separate process for ${durationMs / 1000} s after ${warmupMs / 1000} s warm-up a rep; time from ingest's 202 to GET /v1/claims/<last claim>?minSeq=<lastSeq> answering 200 (${seen} reports in all)`;
  addFigure(ctx, 'freshness.p50', 'ms', p50, how);
  addFigure(ctx, 'freshness.p99', 'ms', p99, how);
  addFigure(ctx, 'freshness.offered', 'events/s', achieved, 'events/s accepted (202) during the freshness reps');
  if (process.env.BENCH_DEBUG) {
    const m = await (await fetch(`http://127.0.0.1:${projectorPort}/metrics`)).text();
    ctx.log(
      m
        .split('\n')
        .filter((l) => /^projector_(batch_seconds_(sum|count)|last_seq|events_applied)/.test(l))
        .join(' | '),
    );
  }
  await serve.stop();
}
