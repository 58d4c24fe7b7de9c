// Benchmark harness: repeated measurements, a results collection, the stdout table, the goal
// ratios and the JSON file. Groups (bench/src/groups/*) only call `measure` / `ctx.measure`.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Unit of a figure. Rates are "higher is better", times, latencies and memory "lower is better". */
export type Unit = 'events/s' | 'reports/s' | 'rows/s' | 'ms' | 's' | 'MB' | 'µs/event' | 'cores' | '%';

export interface Figure {
  name: string;
  group: string;
  unit: Unit;
  better: 'higher' | 'lower';
  reps: number;
  samples: number[];
  min: number;
  median: number;
  max: number;
  /** How it was measured: client settings, counts, what is acked, ... */
  note?: string;
}

/**
 * What one repetition returns:
 * - a number: for a rate unit, the count of events processed (the harness divides by the
 *   wall time of the call); for any other unit, the value itself;
 * - `{ events, seconds }`: a rate the repetition timed itself (e.g. to exclude a drain);
 * - `{ value }`: the value itself, whatever the unit.
 */
export type RepResult = number | { events: number; seconds: number } | { value: number };

export interface MeasureOptions {
  unit?: Unit;
  group?: string;
  note?: string;
  /** Untimed work before each repetition (pre-fill, truncate, a new consumer ...). */
  setup?: (rep: number) => Promise<void> | void;
  /** Untimed work after each repetition, run even when the repetition fails. */
  teardown?: (rep: number) => Promise<void> | void;
  /** Progress lines go here (stderr by default). */
  log?: (line: string) => void;
}

/** Thrown by a group that cannot measure yet; printed as "not yet measured: <reason>". */
export class NotYetMeasured extends Error {}

export const isRate = (unit: Unit): boolean => unit.endsWith('/s');

export function stats(samples: number[]): { min: number; median: number; max: number } {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s[s.length - 1]! };
}

/** Percentile (nearest rank) of unsorted values; for latency figures. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) throw new Error('no values');
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank]!;
}

export function progress(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

/** Runs `fn` `reps` times and returns min/median/max of the rate or value it yields. */
export async function measure(
  name: string,
  reps: number,
  fn: (rep: number) => Promise<RepResult>,
  opts: MeasureOptions = {},
): Promise<Figure> {
  const unit = opts.unit ?? 'events/s';
  const log = opts.log ?? progress;
  const samples: number[] = [];
  for (let rep = 1; rep <= reps; rep++) {
    await opts.setup?.(rep);
    let value: number;
    try {
      const t0 = process.hrtime.bigint();
      const r = await fn(rep);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (typeof r === 'number') value = isRate(unit) ? r / seconds : r;
      else if ('value' in r) value = r.value;
      else value = r.events / r.seconds;
    } finally {
      await opts.teardown?.(rep);
    }
    if (!Number.isFinite(value)) throw new Error(`${name}: repetition ${rep} gave ${value}`);
    samples.push(value);
    log(`  ${name} rep ${rep}/${reps}: ${formatValue(value, unit)} ${unit}`);
  }
  return {
    name,
    group: opts.group ?? name.split('.')[0]!,
    unit,
    better: isRate(unit) ? 'higher' : 'lower',
    reps,
    samples,
    ...stats(samples),
    ...(opts.note ? { note: opts.note } : {}),
  };
}

/**
 * A goal: `numerator / denominator` compared with `goal` (a ratio), or, without a denominator,
 * the numerator's median compared with `goal` in the numerator's own unit.
 * With several denominators the best of them (highest rate / lowest time) is used.
 */
export interface Goal {
  name: string;
  numerator: string;
  denominator?: string | string[];
  op: '>=' | '<=';
  goal: number;
}

export interface GoalResult {
  name: string;
  op: '>=' | '<=';
  goal: number;
  measured: number | null;
  unit: string;
  status: 'PASS' | 'MISS' | 'NOT MEASURED';
  numerator: string;
  denominator: string | null;
  reason?: string;
}

export interface GroupOutcome {
  name: string;
  status: 'ok' | 'failed' | 'not measured';
  seconds: number;
  message?: string;
}

export class Results {
  readonly figures: Figure[] = [];
  readonly groups: GroupOutcome[] = [];
  readonly notes: string[] = [];

  add(figure: Figure): Figure {
    this.figures.push(figure);
    return figure;
  }

  get(name: string): Figure | undefined {
    return this.figures.find((f) => f.name === name);
  }

  evaluate(goals: Goal[]): GoalResult[] {
    return goals.map((g) => evaluateGoal(g, this));
  }
}

function evaluateGoal(g: Goal, results: Results): GoalResult {
  const base = { name: g.name, op: g.op, goal: g.goal, numerator: g.numerator };
  const num = results.get(g.numerator);
  const denNames = g.denominator === undefined ? [] : [g.denominator].flat();
  const dens = denNames.map((n) => results.get(n)).filter((f): f is Figure => f !== undefined);
  const missing = [g.numerator, ...denNames].filter((n) => !results.get(n));
  if (!num || (denNames.length > 0 && dens.length === 0)) {
    return {
      ...base,
      denominator: denNames.join(' | ') || null,
      measured: null,
      unit: denNames.length ? '×' : '',
      status: 'NOT MEASURED',
      reason: `missing ${missing.join(', ')}`,
    };
  }
  if (dens.length === 0) {
    const measured = num.median;
    const pass = g.op === '>=' ? measured >= g.goal : measured <= g.goal;
    return { ...base, denominator: null, measured, unit: num.unit, status: pass ? 'PASS' : 'MISS' };
  }
  const den = dens.reduce((best, f) =>
    (f.better === 'higher' ? f.median > best.median : f.median < best.median) ? f : best,
  );
  const measured = num.median / den.median;
  const pass = g.op === '>=' ? measured >= g.goal : measured <= g.goal;
  return { ...base, denominator: den.name, measured, unit: '×', status: pass ? 'PASS' : 'MISS' };
}

export function formatValue(v: number, unit: string): string {
  if (unit.endsWith('/s')) return Math.round(v).toLocaleString('en-US');
  if (unit === 'MB') return v.toFixed(1);
  if (unit === 's') return v.toFixed(2);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Aligned table: figure, unit, min, median, max. */
export function formatTable(figures: Figure[]): string {
  const header = ['figure', 'unit', 'min', 'median', 'max'];
  const rows = figures.map((f) => [
    f.name,
    f.unit,
    formatValue(f.min, f.unit),
    formatValue(f.median, f.unit),
    formatValue(f.max, f.unit),
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatGoal(r: GoalResult): string {
  if (r.status === 'NOT MEASURED') {
    return `${r.name}: not yet measured (${r.reason}) vs goal ${r.op} ${r.goal}${r.unit}`;
  }
  const measured = r.unit === '×' ? `${r.measured!.toFixed(2)}×` : `${formatValue(r.measured!, r.unit)} ${r.unit}`;
  const goal = r.unit === '×' ? `${r.goal}×` : `${r.goal} ${r.unit}`;
  const against = r.denominator ? ` (${r.numerator} / ${r.denominator})` : '';
  return `${r.name}: ${measured} vs goal ${r.op} ${goal} → ${r.status}${against}`;
}

export interface ReportMeta {
  startedAt: string;
  finishedAt: string;
  mode: 'quick' | 'full';
  argv: string[];
  machine: Record<string, unknown>;
}

/** Writes bench/results/<timestamp>.json and bench/results/latest.json; returns the first path. */
export async function writeResults(
  dir: string,
  meta: ReportMeta,
  results: Results,
  goals: GoalResult[],
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const body = JSON.stringify(
    { ...meta, figures: results.figures, ratios: goals, groups: results.groups, notes: results.notes },
    null,
    2,
  );
  const file = join(dir, `${meta.startedAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, body + '\n');
  await writeFile(join(dir, 'latest.json'), body + '\n');
  return file;
}
