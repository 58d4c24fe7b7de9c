// `claimtrail replay --into <fresh schema>` (fold the whole stream from seq 1
// with the projector's code) and `claimtrail audit verify` (chain hashes recomputed from the
// stream, stream vs ledger, live read models vs a fresh replay), each as a child process over
// the small catch-up stream and its read models. events/s: replay's own figure (excludes
// process start-up); audit verify: events / wall time of the process. Peak memory: the child's
// VmHWM, sampled every 100 ms.
import type { BenchContext } from '../context.ts';
import { addFigure, CLI, startChild } from '../product.ts';
import { catchupSizes, foldedDataset, sizeLabel } from './projector.ts';

/** `BENCH_REPLAY_LARGE=1` adds one replay and one audit verify over the large stream (1M events in the full run, ~12 more minutes). */
const REPLAY_LARGE = process.env.BENCH_REPLAY_LARGE === '1';

async function runWatched(
  ctx: BenchContext,
  name: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ stdout: string; seconds: number; peakMb: number }> {
  const t0 = performance.now();
  const child = startChild(ctx, name, CLI, args, env);
  let peakMb = 0;
  const timer = setInterval(() => {
    try {
      peakMb = Math.max(peakMb, child.peakRssMb());
    } catch {
      // exited between ticks
    }
  }, 100);
  const code = await child.exited;
  clearInterval(timer);
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0)
    throw new Error(`claimtrail ${args.join(' ')} exited ${code}: ${child.stderr}\n${child.stdout.slice(-2000)}`);
  return { stdout: child.stdout, seconds, peakMb };
}

type Dataset = Awaited<ReturnType<typeof foldedDataset>>;

/**
 * `replay.<n>` and `audit.verify.<n>` (with their peak RSS) over one folded dataset. Replay's
 * rate is its own elapsed time; audit verify's is the process's wall time, start-up included.
 */
async function measureReplayAndVerify(
  ctx: BenchContext,
  data: Dataset,
  o: { replayReps?: number; replayNote: string; verifyNote: string },
): Promise<void> {
  const label = sizeLabel(data.count);
  const replayRss: number[] = [];
  await ctx.measure(
    `replay.${label}`,
    async (rep) => {
      const r = await runWatched(
        ctx,
        'claimtrail replay',
        ['replay', '--into', `${data.p.base}_replay${rep}`, '--json'],
        data.p.env,
      );
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        folded: number;
        elapsedMs: number;
        parked: number;
      };
      if (out.parked > 0) throw new Error(`replay parked ${out.parked} events`);
      replayRss.push(r.peakMb);
      return { events: out.folded, seconds: out.elapsedMs / 1000 };
    },
    { ...(o.replayReps === undefined ? {} : { reps: o.replayReps }), note: o.replayNote },
  );
  addFigure(ctx, `replay.${label}.peak-rss`, 'MB', replayRss, 'VmHWM of the claimtrail replay process');

  const verifyRss: number[] = [];
  await ctx.measure(
    `audit.verify.${label}`,
    async () => {
      const r = await runWatched(ctx, 'claimtrail audit verify', ['audit', 'verify', '--json'], data.p.env);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean };
      if (!out.ok) throw new Error(`audit verify reported differences: ${r.stdout.slice(0, 2000)}`);
      verifyRss.push(r.peakMb);
      return { events: data.count, seconds: r.seconds };
    },
    { reps: 1, note: o.verifyNote },
  );
  addFigure(ctx, `audit.verify.${label}.peak-rss`, 'MB', verifyRss, 'VmHWM of the claimtrail audit verify process');
}

export async function runReplay(ctx: BenchContext): Promise<void> {
  const { small, large } = catchupSizes(ctx.quick);
  const data = await foldedDataset(ctx, small);
  const label = sizeLabel(data.count);
  await measureReplayAndVerify(ctx, data, {
    replayNote: `claimtrail replay --into <fresh schema> over the ${label}-event stream (child process), its own elapsed time`,
    verifyNote: `claimtrail audit verify (chain, stream vs ledger, read models vs a fresh replay) over the ${label}-event stream; events / wall time of the process including its start-up`,
  });
  if (!REPLAY_LARGE) return;
  const big = await foldedDataset(ctx, large);
  const bigLabel = sizeLabel(big.count);
  await measureReplayAndVerify(ctx, big, {
    replayReps: 1,
    replayNote: `claimtrail replay --into <fresh schema> over the ${bigLabel}-event stream (child process), one rep`,
    verifyNote: `claimtrail audit verify over the ${bigLabel}-event stream, one rep, wall time including start-up`,
  });
}
