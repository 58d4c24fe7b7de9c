// `npm run bench:ab -- --variant name='flags' …`: an A/B of projector catch-ups on one machine.
// One stream is pre-filled once; each round folds it once per variant, in alternating order, into
// a fresh schema, so that the machine's slow and fast minutes fall on every variant alike. Prints
// each catch-up (events/s, CPU µs per event of the projector, Postgres, NATS and the machine, peak
// RSS; with --gc the collector's counts from --trace-gc-nvp) and the medians per variant.
import { parseArgs } from 'node:util';
import { BenchContext, readConfig } from './context.ts';
import { cpuPerEvent } from './cpu.ts';
import { progress, Results, stats } from './harness.ts';
import { catchUp, filledStream } from './groups/projector.ts';
import { gcSummary, parseVariant } from './ab-variants.ts';

const USAGE = `
usage: npm run bench:ab -- --variant <name>=<flags> [--variant …] [--count <n>] [--rounds <n>] [--gc]

  --variant <name>=<flags>  a projector variant: node flags added after the projector's own heap
                            flags (services/projector/src/heap.ts; a later flag wins), and
                            environment settings written env:NAME=value among them.
                            "base=" is the projector as it is.
  --count <n>               events in the pre-filled stream (default 100000)
  --rounds <n>              catch-ups of each variant (default 4), order alternating by round
  --gc                      add --trace-gc-nvp and print scavenges, promoted and survived MB,
                            mark-compacts and the live heap after them
  --help                    this text

Example: npm run bench:ab -- --variant base= --variant semi32='--max-semi-space-size=32' --gc
Environment: DATABASE_URL, NATS_URL as for npm run bench (its own database and stream, removed at
the end; BENCH_KEEP_DATABASE=1 keeps the database).
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      variant: { type: 'string', multiple: true, default: [] },
      count: { type: 'string', default: '100000' },
      rounds: { type: 'string', default: '4' },
      gc: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const count = Number(values.count);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(count) || count < 1000) throw new Error(`--count ${values.count}: a whole number ≥ 1000`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${values.rounds}: a whole number ≥ 1`);
  const variants = values.variant.map((v) => parseVariant(v, values.gc));
  if (variants.length === 0) throw new Error('give at least one --variant (see --help)');
  if (new Set(variants.map((v) => v.name)).size !== variants.length) throw new Error('variant names must differ');

  const ctx = new BenchContext(readConfig(true, 1), new Results());
  ctx.group = 'ab';
  ctx.cleanUpOnSignals();
  const seen = new Map<string, { rate: number[]; cpu: Record<string, number>[] }>();
  try {
    await filledStream(ctx, count);
    let k = 0;
    for (let round = 0; round < rounds; round += 1) {
      for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
        const c = await catchUp(ctx, count, `ab_${k++}`, v);
        const rate = count / c.seconds;
        const cpu = cpuPerEvent(c.cpu, rate);
        const s = seen.get(v.name) ?? { rate: [], cpu: [] };
        s.rate.push(rate);
        s.cpu.push(cpu);
        seen.set(v.name, s);
        const perEvent = Object.entries(cpu)
          .map(([g, us]) => `${g} ${us.toFixed(1)}`)
          .join(', ');
        ctx.log(
          `round ${round + 1} ${v.name}: ${Math.round(rate).toLocaleString('en-US')} events/s; µs/event ${perEvent}; ` +
            `peak RSS ${c.peakRssMb.toFixed(0)} MB${values.gc ? `; ${gcSummary(c.stdout)}` : ''}`,
        );
      }
    }
    process.stdout.write(`\nmedians of ${rounds} catch-ups of ${count.toLocaleString('en-US')} events:\n`);
    for (const [name, s] of seen) {
      const groups = Object.keys(s.cpu[0]!)
        .map((g) => `${g} ${stats(s.cpu.map((x) => x[g]!)).median.toFixed(1)}`)
        .join(', ');
      const r = stats(s.rate);
      process.stdout.write(
        `  ${name.padEnd(12)} ${Math.round(r.median).toLocaleString('en-US')} events/s ` +
          `(${Math.round(r.min).toLocaleString('en-US')}–${Math.round(r.max).toLocaleString('en-US')}); µs/event ${groups}\n`,
      );
    }
  } finally {
    await ctx.cleanup();
  }
}

main().catch((err: unknown) => {
  progress(`bench:ab: ${(err as Error).message}`);
  process.exitCode = 1;
});
