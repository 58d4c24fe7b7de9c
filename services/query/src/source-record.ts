// A source's record: how often and by how much it revised its own figures, and how its figures
// fared in composite checks against other sources. Pure functions of rows read at one instant
// (sources.sql.ts, summary.sql.ts), the checks worked out by the summary's compositeChecks.
import type { CompositeCheck, RevisionStep, SourceRecordMetric } from '@claimtrail/shared/contract';
import { compositeChecks, type MetricDef, type SummaryClaim } from './summary.ts';

const DAY_MS = 86_400_000;

/**
 * The checks a record lists per topic and metric, the newest composite claims first; the others
 * are counted by status and in `checksLeftOff`. A source stating often across big topics meets
 * thousands of checks: 2,836 for one source of 54,000 synthetic claims in 50 topics, about 1 KB of
 * JSON each.
 */
export const SOURCE_CHECKS_LISTED = 20;

/** Newest composite claim first (its valid end, as text: fuzzy dates compare by their start), then by id. */
const newestFirst = (a: CompositeCheck, b: CompositeCheck): number =>
  a.compositeClaim.validTo < b.compositeClaim.validTo
    ? 1
    : a.compositeClaim.validTo > b.compositeClaim.validTo
      ? -1
      : a.compositeClaim.claimId < b.compositeClaim.claimId
        ? -1
        : a.compositeClaim.claimId > b.compositeClaim.claimId
          ? 1
          : 0;
const round6 = (n: number): number => Math.round(n * 1e6) / 1e6;

/** A claim not retracted whose centre the source stated (exact, approx, range with best). */
export interface StatedFigure {
  topic: string;
  metric: string;
  /** The metric's aggregation at the instant (a metric nobody defined is cumulative). */
  aggregation: string;
  claimId: string;
  statedAt: string;
  /** Start of statedAt's interval, ms since the epoch. */
  statedFrom: number;
  validFromAt: number;
  validToAt: number;
  best: number;
  seq: number;
}

/** The checks of a composite metric in a topic that involve a source and another, with their tallies. */
export interface TopicChecks {
  topic: string;
  /** The composite metric. */
  metric: string;
  checks: CompositeCheck[];
  unaligned: number;
  checksLeftOff: number;
}

/**
 * The checks of every composite metric of a topic in which `sourceId` is on one side and another
 * source on the other, by the summary's own pairing (compositeChecks), from the topic's summary
 * rows. Each composite is checked twice over just the claims concerned: the source's composite
 * claims against the others' parts, then its parts against the others' composite claims; pairing
 * works per composite claim and parts source, so leaving out the claims of no concern changes no
 * pair, and the summary's limits of a list then count only checks of this source.
 */
export function checksOfSource(
  sourceId: string,
  topic: string,
  claims: SummaryClaim[],
  defs: MetricDef[],
  toleranceDays: number,
): TopicChecks[] {
  const defMap = new Map(defs.map((d) => [d.metric, d]));
  const out: TopicChecks[] = [];
  for (const def of defs) {
    const parts = new Set(def.composedOf ?? []);
    if (parts.size === 0) continue;
    const mine = (c: SummaryClaim) => c.source.id === sourceId;
    const sides = [
      claims.filter((c) => (c.metric === def.metric && mine(c)) || (parts.has(c.metric) && !mine(c))),
      claims.filter((c) => (parts.has(c.metric) && mine(c)) || (c.metric === def.metric && !mine(c))),
    ];
    const entry: TopicChecks = { topic, metric: def.metric, checks: [], unaligned: 0, checksLeftOff: 0 };
    for (const side of sides) {
      if (!side.some(mine)) continue;
      const r = compositeChecks(def, defMap, side, toleranceDays);
      entry.checks.push(...r.checks);
      entry.unaligned += r.unaligned;
      entry.checksLeftOff += r.checksLeftOff;
    }
    if (entry.checks.length > 0 || entry.unaligned > 0 || entry.checksLeftOff > 0) out.push(entry);
  }
  return out;
}

const key = (topic: string, metric: string) => `${topic}\u0000${metric}`;

/**
 * The steps between a source's successive figures of each topic and metric, in statedAt order
 * (then seq): each step's change of the stated centre and the days between the two statedAt. An
 * incremental metric's figures are steps of one another only when they describe the same period
 * (November's count is not a revision of October's), as supersession has it.
 */
export function revisionSteps(figures: StatedFigure[]): Map<string, { figures: number; steps: RevisionStep[] }> {
  const sorted = [...figures].sort((a, b) => a.statedFrom - b.statedFrom || a.seq - b.seq);
  const out = new Map<string, { figures: number; steps: RevisionStep[] }>();
  const last = new Map<string, StatedFigure>();
  for (const f of sorted) {
    const k = key(f.topic, f.metric);
    const entry = out.get(k) ?? { figures: 0, steps: [] };
    out.set(k, entry);
    entry.figures++;
    const chain = f.aggregation === 'incremental' ? `${k}\u0000${f.validFromAt}\u0000${f.validToAt}` : k;
    const before = last.get(chain);
    last.set(chain, f);
    if (!before) continue;
    entry.steps.push({
      from: { claimId: before.claimId, statedAt: before.statedAt, best: before.best },
      to: { claimId: f.claimId, statedAt: f.statedAt, best: f.best },
      change: round6(f.best - before.best),
      days: round6((f.statedFrom - before.statedFrom) / DAY_MS),
    });
  }
  return out;
}

/**
 * The checks in which `sourceId` is on one side and another source on the other, with the side
 * it is on; a source's parts against its own total are not a check against another source.
 */
export function checksAgainstOthers(sourceId: string, topic: string, checks: CompositeCheck[]) {
  const out: (CompositeCheck & { topic: string; side: 'components' | 'composite' })[] = [];
  for (const check of checks) {
    const parts = check.componentSource.id === sourceId;
    const total = check.compositeSource.id === sourceId;
    if (parts === total) continue;
    out.push({ ...check, topic, side: parts ? 'components' : 'composite' });
  }
  return out;
}

/**
 * The record of one source, per topic and metric (byte order): its revision steps, and its checks
 * against other sources under the composite metric checked, counted by status.
 */
export function sourceRecord(sourceId: string, figures: StatedFigure[], checks: TopicChecks[]): SourceRecordMetric[] {
  const revisions = revisionSteps(figures);
  const byMetric = new Map<
    string,
    { checks: ReturnType<typeof checksAgainstOthers>; unaligned: number; checksLeftOff: number }
  >();
  for (const t of checks) {
    const k = key(t.topic, t.metric);
    const entry = byMetric.get(k) ?? { checks: [], unaligned: 0, checksLeftOff: 0 };
    entry.checks.push(...checksAgainstOthers(sourceId, t.topic, t.checks));
    entry.unaligned += t.unaligned;
    entry.checksLeftOff += t.checksLeftOff;
    byMetric.set(k, entry);
  }
  const keys = [...new Set([...revisions.keys(), ...byMetric.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys.map((k) => {
    const [topic, metric] = k.split('\u0000') as [string, string];
    const r = revisions.get(k) ?? { figures: 0, steps: [] };
    const tally = byMetric.get(k) ?? { checks: [], unaligned: 0, checksLeftOff: 0 };
    const cs = tally.checks;
    const listed = [...cs].sort(newestFirst).slice(0, SOURCE_CHECKS_LISTED);
    const byStatus: Record<string, number> = { consistent: 0, gap: 0 };
    for (const c of cs) byStatus[c.status] = (byStatus[c.status] ?? 0) + 1;
    // A step that restates the same figure (an "about 600" and an exact 600) is no revision.
    const changed = r.steps.filter((x) => x.change !== 0);
    const total = changed.reduce((s, x) => s + Math.abs(x.change), 0);
    return {
      topic,
      metric,
      figures: r.figures,
      revisions: changed.length,
      meanAbsChange: changed.length === 0 ? null : round6(total / changed.length),
      steps: r.steps,
      checks: {
        consistent: byStatus.consistent ?? 0,
        gap: byStatus.gap ?? 0,
        byStatus,
        unaligned: tally.unaligned,
        checksLeftOff: tally.checksLeftOff + cs.length - listed.length,
        checks: listed,
      },
    };
  });
}
