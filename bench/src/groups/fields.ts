// fields: what each optional claim field costs the projector per event. One product stream per
// variant is pre-filled with the same events (the product stream's options, same seed; half the
// new claims are ranges so that `best` has ranges to sit in), the variant's fields added to every
// new claim or report (syntheticEvents' `fields`). Each round folds every stream once into fresh
// read models as the projector group's catch-up does, in an order that alternates by round (as
// npm run bench:ab does), so that the machine's slow minutes fall on every variant alike.
import type { BenchContext } from '../context.ts';
import { addCpuFigures, cpuPerEvent, type CpuReading } from '../cpu.ts';
import { stats } from '../harness.ts';
import { addFigure, type ProductEnv } from '../product.ts';
import { productEventOptions } from '../product-events.ts';
import { foldStream, prefilledStream, sizeLabel } from './projector.ts';
import type { SyntheticFields } from '@claimtrail/shared/testing';

export const FIELD_VARIANTS: readonly { name: string; fields: SyntheticFields }[] = [
  { name: 'base', fields: {} },
  { name: 'best', fields: { best: true } },
  { name: 'qualifiers', fields: { qualifiers: true } },
  { name: 'note', fields: { note: true } },
  { name: 'viaNames', fields: { viaNames: true } },
  { name: 'reportKind', fields: { reportKind: true } },
  { name: 'all', fields: { best: true, qualifiers: true, note: true, viaNames: true, reportKind: true } },
];

/** Events a stream (besides the hop registrations of viaNames), and rounds. */
export function fieldsSizes(quick: boolean, reps: number): { count: number; rounds: number } {
  return quick ? { count: 20_000, rounds: 1 } : { count: 100_000, rounds: reps };
}

interface Fold {
  round: number;
  seconds: number;
  cpu: CpuReading;
  /** CPU µs per event of the base stream, by process group, and `machine`. */
  perEvent: Record<string, number>;
}

/** Projector and Postgres together: the work the fields add to a catch-up. */
const foldCost = (f: Fold) => (f.perEvent.projector ?? 0) + (f.perEvent.postgres ?? 0);

export async function runFields(ctx: BenchContext): Promise<void> {
  const { count, rounds } = fieldsSizes(ctx.quick, ctx.reps);
  const streams = new Map<string, ProductEnv>();
  for (const v of FIELD_VARIANTS) {
    const { env, types } = await prefilledStream(ctx, `fl${sizeLabel(count)}_${v.name.toLowerCase()}`, (prefix) => ({
      ...productEventOptions(count, prefix, ctx.runId),
      valueKinds: ['approx', 'range'],
      fields: v.fields,
    }));
    streams.set(v.name, env);
    ctx.results.notes.push(`fields: ${v.name} stream = ${JSON.stringify(types)}`);
  }
  await ctx.settle('the fields catch-ups');

  const pool = await ctx.pool(1);
  const dropSchemas = (base: string) => pool.query(`drop schema "${base}_rm" cascade; drop schema "${base}" cascade`);
  // The first catch-up after the pre-fill can run slower than the rest (cold stream pages and
  // Postgres caches): an untimed one first, so that this never falls on the variant that is first.
  await foldStream(ctx, streams.get('base')!, count, 'fl_warmup', {});
  await dropSchemas('fl_warmup');
  const folds = new Map<string, Fold[]>(FIELD_VARIANTS.map((v) => [v.name, []]));
  let k = 0;
  for (let round = 0; round < rounds; round += 1) {
    for (const v of round % 2 === 0 ? FIELD_VARIANTS : [...FIELD_VARIANTS].reverse()) {
      const base = `fl_${k++}`;
      const c = await foldStream(ctx, streams.get(v.name)!, count, base, {});
      // Per event of the base stream: a variant's registrations of named hops are part of what
      // the same reports cost it.
      const perEvent = cpuPerEvent(c.cpu, count / c.seconds);
      folds.get(v.name)!.push({ round, seconds: c.seconds, cpu: c.cpu, perEvent });
      ctx.log(
        `round ${round + 1} ${v.name}: ${Math.round(count / c.seconds).toLocaleString('en-US')} events/s; µs/event ` +
          Object.entries(perEvent)
            .map(([g, us]) => `${g} ${us.toFixed(1)}`)
            .join(', '),
      );
      // The read models are not read again; dropping them keeps the run's database small (untimed).
      await dropSchemas(base);
    }
  }

  const baseFolds = folds.get('base')!;
  const note = `${count.toLocaleString('en-US')} events (the projector group's stream, half the new claims ranges) folded into empty read models, ${rounds} round(s) alternating the variants' order; per event of the base stream`;
  const rows: string[][] = [];
  for (const v of FIELD_VARIANTS) {
    const fs = folds.get(v.name)!;
    const name = `fields.${v.name}`;
    addFigure(
      ctx,
      name,
      'events/s',
      fs.map((f) => count / f.seconds),
      `catch-up rate of the ${v.name} stream: ${note}`,
    );
    addCpuFigures(
      ctx,
      name,
      fs.map((f) => ({ reading: f.cpu, eventsPerSecond: count / f.seconds })),
      `${note}; projector = its process, postgres = every postgres process`,
    );
    // Paired by round: a variant against the base stream folded in the same round.
    const delta = fs.map((f) => foldCost(f) - foldCost(baseFolds.find((b) => b.round === f.round)!));
    if (v.name !== 'base')
      addFigure(
        ctx,
        `${name}.delta`,
        'µs/event',
        delta,
        `projector + Postgres CPU µs per event of the ${v.name} stream minus the base stream's of the same round; ${note}`,
      );
    const med = (g: string) => stats(fs.map((f) => f.perEvent[g] ?? 0)).median;
    const d = stats(delta).median;
    const baseCost = stats(baseFolds.map(foldCost)).median;
    const share = baseCost > 0 ? `${d >= 0 ? '+' : ''}${((d / baseCost) * 100).toFixed(1)} %` : '-';
    rows.push([
      v.name,
      Math.round(stats(fs.map((f) => count / f.seconds)).median).toLocaleString('en-US'),
      med('projector').toFixed(1),
      med('postgres').toFixed(1),
      med('machine').toFixed(1),
      `${d >= 0 ? '+' : ''}${d.toFixed(1)}`,
      share,
    ]);
  }
  const header = ['variant', 'events/s', 'projector', 'postgres', 'machine', 'Δ proj+pg', 'Δ'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  ctx.log(`fields: medians of ${rounds} round(s), CPU µs per event of the ${sizeLabel(count)} base stream`);
  for (const r of [header, ...rows]) ctx.log(`  ${line(r)}`);
}
