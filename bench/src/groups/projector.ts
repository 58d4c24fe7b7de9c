// projector catch-up. A product stream is pre-filled directly with valid
// envelopes (syntheticEvents with the options of bench/src/product-events.ts), then `node services/projector/src/main.ts` runs as a
// child process on a fresh, empty read-model schema (`claimtrail migrate` with a new
// CLAIMTRAIL_SCHEMA each repetition) and folds the whole stream: every read model, the ledger
// with its chain hash, the checkpoint. Timed from its "projector started" line to the checkpoint
// (polled every 20 ms) reaching the stream's last seq; peak RSS is the child's VmHWM.
import type { BenchContext } from '../context.ts';
import { addCpuFigures, startCpuMeter, type CpuReading } from '../cpu.ts';
import { type Figure } from '../harness.ts';
import {
  addFigure,
  PROJECTOR_MAIN,
  freePort,
  productEnv,
  runCli,
  startChild,
  withBase,
  type ProductEnv,
} from '../product.ts';
import { publishSyntheticEvents, syntheticEvents, type SyntheticEventsOptions } from '@claimtrail/shared/testing';
import type { EventType } from '@claimtrail/shared/events';
import { productEventOptions } from '../product-events.ts';

export interface CaughtUp {
  p: ProductEnv;
  count: number;
  seconds: number;
  peakRssMb: number;
  /** Cores each process group used during the catch-up. */
  cpu: CpuReading;
  /** What the projector printed on stdout (its log, and the collector's with --trace-gc flags). */
  stdout: string;
}

/** Prepared streams by size, and the last read models folded from each (for the queries group). */
const streams = new Map<number, Promise<ProductEnv>>();
const folded = new Map<number, CaughtUp>();

export const sizeLabel = (n: number): string => (n >= 1_000_000 ? `${n / 1_000_000}m` : `${n / 1000}k`);

export function catchupSizes(quick: boolean): { small: number; large: number } {
  return quick ? { small: 10_000, large: 50_000 } : { small: 100_000, large: 1_000_000 };
}

/**
 * A new product stream `label` (its stream and first schemas migrated) filled with the events of
 * `options(prefix)`; returns it with the count of each event type it holds.
 */
export async function prefilledStream(
  ctx: BenchContext,
  label: string,
  options: (prefix: string) => SyntheticEventsOptions,
): Promise<{ env: ProductEnv; types: Partial<Record<EventType, number>> }> {
  const env = await productEnv(ctx, label, `${label}_0`);
  await runCli(ctx, ['migrate'], env.env);
  const o = options(env.prefix);
  ctx.log(`pre-filling ${env.stream} with ${o.count.toLocaleString('en-US')} events`);
  const t0 = performance.now();
  const { types } = await publishSyntheticEvents(await ctx.nats(), syntheticEvents(o));
  const s = (performance.now() - t0) / 1000;
  ctx.log(`pre-filled in ${s.toFixed(1)} s: ${JSON.stringify(types)}`);
  return { env, types };
}

/** A product stream holding `count` generated events (created and filled once per run). */
export function filledStream(ctx: BenchContext, count: number): Promise<ProductEnv> {
  let p = streams.get(count);
  if (!p) {
    p = (async () => {
      const { env, types } = await prefilledStream(ctx, `cu${sizeLabel(count)}`, (prefix) =>
        productEventOptions(count, prefix, ctx.runId),
      );
      ctx.results.notes.push(`projector: ${sizeLabel(count)} stream = ${JSON.stringify(types)}`);
      // The stream's files are written out now, not during the first catch-up that reads them.
      await ctx.settle('the catch-ups');
      return env;
    })();
    streams.set(count, p);
  }
  return p;
}

async function streamLastSeq(ctx: BenchContext, stream: string): Promise<number> {
  const jsm = await ctx.jsm();
  return (await jsm.streams.info(stream)).state.last_seq;
}

/**
 * Folds the whole stream of `count` events into a fresh schema with a projector child.
 * `variant`: node flags and environment of that child (npm run bench:ab); by default
 * BENCH_PROJECTOR_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile the projector.
 */
export async function catchUp(
  ctx: BenchContext,
  count: number,
  base: string,
  variant: ProjectorVariant = {},
): Promise<CaughtUp> {
  const caught = await foldStream(ctx, await filledStream(ctx, count), count, base, variant);
  const pool = await ctx.pool(1);
  // This machine's Postgres runs with autovacuum off; analyze as autovacuum would have by now,
  // so that later queries on these read models are planned with real statistics (untimed).
  await pool.query(
    `analyze "${base}_rm".claim_versions, "${base}_rm".claim_citations, "${base}_rm".reports, "${base}_rm".sources`,
  );
  folded.set(count, caught);
  return caught;
}

/** Node flags and environment of a catch-up's projector child. */
export type ProjectorVariant = { nodeArgs?: string[]; env?: Record<string, string> };

/**
 * Folds the whole of `stream` (`count` events) into fresh read models under schema base `base`
 * with a projector child, timed as `catchUp` says; fails if any event was dead-lettered.
 */
export async function foldStream(
  ctx: BenchContext,
  stream: ProductEnv,
  count: number,
  base: string,
  variant: ProjectorVariant = {},
): Promise<CaughtUp> {
  const p = withBase(stream, base);
  await runCli(ctx, ['migrate'], p.env);
  const lastSeq = await streamLastSeq(ctx, p.stream);
  const pool = await ctx.pool(1);
  const port = await freePort();
  const nodeArgs = variant.nodeArgs ?? (process.env.BENCH_PROJECTOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = startChild(
    ctx,
    `projector ${base}`,
    PROJECTOR_MAIN,
    [],
    { ...p.env, ...variant.env, PROJECTOR_PORT: String(port) },
    nodeArgs,
  );
  try {
    await child.waitForLine(/projector started/);
    const meter = startCpuMeter({
      projector: { pid: child.pid },
      postgres: { name: 'postgres' },
      nats: { name: 'nats-server' },
    });
    const t0 = performance.now();
    let peakRss = 0;
    for (let polls = 0; ; polls++) {
      const r = await pool.query<{ last_seq: string }>(
        `select last_seq from "${base}_rm".checkpoint where name = 'projector'`,
      );
      if (Number(r.rows[0]?.last_seq ?? 0) >= lastSeq) break;
      if (child.proc.exitCode !== null) throw new Error(`projector exited ${child.proc.exitCode}: ${child.stderr}`);
      if (polls % 50 === 0) peakRss = Math.max(peakRss, child.peakRssMb());
      await new Promise((res) => setTimeout(res, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = meter.stop();
    peakRss = Math.max(peakRss, child.peakRssMb());
    const dl = await pool.query<{ n: string }>(`select count(*) as n from "${base}_rm".dead_letters`);
    if (Number(dl.rows[0]?.n) > 0) throw new Error(`${dl.rows[0]?.n} events were parked in ${base}_rm.dead_letters`);
    return { p, count, seconds, peakRssMb: peakRss, cpu, stdout: child.stdout };
  } finally {
    await child.stop();
  }
}

/** The read models of a folded stream of `count` events (folding it when no group did). */
export async function foldedDataset(ctx: BenchContext, count: number): Promise<CaughtUp> {
  return folded.get(count) ?? catchUp(ctx, count, `cu${sizeLabel(count)}_q`);
}

export async function runProjector(ctx: BenchContext): Promise<void> {
  const { small, large } = catchupSizes(ctx.quick);
  const runs: [number, number][] = [
    [small, ctx.reps],
    [large, 1],
  ];
  for (const [count, reps] of runs) {
    const name = `projector.catchup.${sizeLabel(count)}`;
    await filledStream(ctx, count);
    const secs: number[] = [];
    const rss: number[] = [];
    const cpu: { reading: CpuReading; eventsPerSecond: number }[] = [];
    const fig: Figure = await ctx.measure(
      name,
      async (rep) => {
        const c = await catchUp(ctx, count, `cu${sizeLabel(count)}_${rep}`);
        secs.push(c.seconds);
        rss.push(c.peakRssMb);
        cpu.push({ reading: c.cpu, eventsPerSecond: count / c.seconds });
        return { events: count, seconds: c.seconds };
      },
      {
        reps,
        note: `${count.toLocaleString('en-US')} events pre-filled (≈90 % new claims, 5 % corrections, 5 % echoes of claim events; a ReportSubmitted per 10; 50 topics, 200 sources) folded into empty read models by services/projector/src/main.ts in a child process (default settings: batches of up to 1,000 events): every read model, ledger with chain hash, checkpoint; from "projector started" to the checkpoint reaching the last seq`,
      },
    );
    addFigure(ctx, `${name}.seconds`, 's', secs, `wall time of ${fig.name}`);
    addFigure(ctx, `${name}.peak-rss`, 'MB', rss, 'VmHWM of the projector process at the end of the catch-up');
    addCpuFigures(ctx, name, cpu, 'projector = its process, postgres = every postgres process');
  }
}
