// events/s through POST /v1/reports. The ingest service runs alone as a child
// (`node services/ingest/src/main.ts`, as in docker-compose, with its default INGEST_PROCESSES=auto:
// one process a core up to 4, behind one port; services/ingest/src/cluster.ts), the load comes from another
// child process (bench/src/load/http-load.ts): 64 closed-loop keep-alive clients, each report new
// (unique body, so a fresh idempotency key), answered 202 only once JetStream acked every event.
import type { BenchContext } from '../context.ts';
import { addCpuFigures, childPids, startCpuMeter, type CpuReading } from '../cpu.ts';
import { percentile } from '../harness.ts';
import {
  addFigure,
  freePort,
  INGEST_MAIN,
  migrateAndToken,
  productEnv,
  runLoad,
  startChild,
  waitReady,
} from '../product.ts';

export const CLIENTS = 64;

export async function runIngest(ctx: BenchContext): Promise<void> {
  const p = await productEnv(ctx, 'ingest');
  const token = await migrateAndToken(ctx, p);
  const port = await freePort();
  const server = startChild(ctx, 'ingest', INGEST_MAIN, [], { ...p.env, INGEST_PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/readyz`, server);
  const durationMs = ctx.quick ? 1_500 : 5_000;
  const warmupMs = ctx.quick ? 500 : 1_000;
  const load = (claims: number, ms: number, warmMs: number, tag: string) =>
    runLoad(ctx, {
      mode: 'ingest',
      url,
      token,
      clients: CLIENTS,
      claims,
      durationMs: ms,
      warmupMs: warmMs,
      tag: `${ctx.runId}-${tag}`,
    });
  // Once, on the freshly started service: its first seconds of load are V8's (compiling the hot
  // paths, and before services/ingest/src/heap.ts growing the young generation), and without this
  // the first rep measured them (about half the later reps' rate).
  const startupWarmupMs = ctx.quick ? 1_000 : 3_000;
  ctx.log(`warming the service up for ${startupWarmupMs / 1000} s`);
  await load(10, startupWarmupMs, 0, 'ingest-startup');
  // Several processes: the primary (which only watches) and its workers; one: the process itself.
  const workers = childPids(server.pid).length;
  const serving = workers > 0 ? `${workers} processes (INGEST_PROCESSES=auto) behind one port` : 'one process';
  ctx.log(`ingest serves from ${serving}`);

  for (const claims of [10, 1]) {
    const label = claims === 10 ? 'reports10' : 'reports1';
    const p50: number[] = [];
    const p99: number[] = [];
    let reports = 0;
    const reportRates: number[] = [];
    const cpu: { reading: CpuReading; eventsPerSecond: number }[] = [];
    await ctx.measure(
      `ingest.${label}.events`,
      async (rep) => {
        const meter = startCpuMeter({ ingest: { pid: server.pid }, nats: { name: 'nats-server' } });
        const r = await load(claims, durationMs, warmupMs, `${label}-${rep}`);
        if (r.errors > 0)
          throw new Error(`${r.errors} of ${r.requests} requests failed: ${r.errorSamples.join(' | ')}`);
        if (r.ok === 0) throw new Error('no request succeeded');
        p50.push(percentile(r.latenciesMs, 50));
        p99.push(percentile(r.latenciesMs, 99));
        reports += r.ok;
        reportRates.push(r.ok / r.seconds);
        const reading = meter.stop();
        if (r.cpuSeconds !== undefined) reading.cores.loadgen = r.cpuSeconds / reading.seconds;
        cpu.push({ reading, eventsPerSecond: r.events / r.seconds });
        return { events: r.events, seconds: r.seconds };
      },
      {
        note: `POST /v1/reports, ${claims} claim(s) a report = ${claims + 1} events (ReportSubmitted + ClaimRecorded each), ${CLIENTS} keep-alive clients in a separate process, ${durationMs / 1000} s after ${warmupMs / 1000} s warm-up a rep (and one ${startupWarmupMs / 1000} s warm-up load when the service started); ingest alone (no projector running), in ${serving}`,
      },
    );
    addFigure(
      ctx,
      `ingest.${label}.reports`,
      'reports/s',
      reportRates,
      `reports/s of the same reps (${reports} reports)`,
    );
    addCpuFigures(
      ctx,
      `ingest.${label}`,
      cpu,
      'over the whole load run, warm-up included; ingest = its process(es); the machine figure also holds the load generator',
    );
    addFigure(
      ctx,
      `ingest.${label}.p50`,
      'ms',
      p50,
      `p50 latency of POST /v1/reports (${claims} claims), ${CLIENTS} clients`,
    );
    addFigure(
      ctx,
      `ingest.${label}.p99`,
      'ms',
      p99,
      `p99 latency of POST /v1/reports (${claims} claims), ${CLIENTS} clients`,
    );
  }
  await server.stop();
}
