// The topic summary: pure functions over the claims and metric definitions visible at one instant.
import type { ClaimRef, CompositeCheck, Conflict, SummaryMetric } from '@claimtrail/shared/contract';
import type { ClaimValue } from '@claimtrail/shared/events';

const DAY_MS = 86_400_000;

export interface SummarySource {
  id: string;
  name?: string;
  kind?: string;
  country?: string;
}

/** One claim as the summary needs it (the current version at the context's instant). */
export interface SummaryClaim {
  claimId: string;
  metric: string;
  unit: string;
  source: SummarySource;
  value: ClaimValue;
  low: number | null;
  best: number | null;
  high: number | null;
  statedAt: string;
  /** Start of statedAt's interval, ms since the epoch: the order of a source's figures. */
  statedFrom: number;
  validFrom: string;
  validTo: string;
  validFromAt: number;
  validToAt: number;
  status: 'active' | 'corrected' | 'retracted';
  seq: number;
  recordedAt: string;
  quote?: string;
  /** The report that stated it (echoes in other reports are citations, not statements). */
  reportId?: string;
  /**
   * The claim that stands in this claim's group of its source's figures (its own id when it
   * stands), and its place in the group's standing order (1 stands, 2 is the figure before):
   * worked out by the rule's one home, supersession.sql.ts.
   */
  standing: string;
  standingRank: number;
}

export interface MetricDef {
  metric: string;
  label: string;
  unit: string;
  aggregation: string;
  composedOf: string[] | null;
}

export interface Interval {
  low: number;
  /** null: unbounded above. */
  high: number | null;
}

const round6 = (n: number): number => Math.round(n * 1e6) / 1e6;

/** A claim's bounds as an interval: counts are non-negative, so a missing low is 0; a missing high is open. */
export function intervalOf(c: { low: number | null; high: number | null }): Interval {
  return { low: c.low ?? 0, high: c.high };
}

/** Interval sum: [Σ low, Σ high], unbounded above when any part is. */
export function sumIntervals(parts: Interval[]): Interval {
  let low = 0;
  let high: number | null = 0;
  for (const p of parts) {
    low += p.low;
    high = high === null || p.high === null ? null : high + p.high;
  }
  return { low: round6(low), high: high === null ? null : round6(high) };
}

/** Distance between two intervals; 0 when they overlap. `direction` says where `a` lies relative to `b`. */
export function intervalGap(a: Interval, b: Interval): { gap: number; direction: 'below' | 'above' | null } {
  if (a.high !== null && a.high < b.low) return { gap: round6(b.low - a.high), direction: 'below' };
  if (b.high !== null && a.low > b.high) return { gap: round6(a.low - b.high), direction: 'above' };
  return { gap: 0, direction: null };
}

/**
 * Of a source's standing claims, the latest first: the one whose valid time ends last (for an
 * incremental metric, the latest period's figure; a cumulative or stock metric has one).
 */
function latestFirst(a: SummaryClaim, b: SummaryClaim): number {
  return b.validToAt - a.validToAt || b.statedFrom - a.statedFrom || b.seq - a.seq;
}

/** The centre of a figure: best, else the middle of a bounded range. */
function centre(c: { low: number | null; best: number | null; high: number | null }): number | null {
  if (c.best !== null) return c.best;
  if (c.low !== null && c.high !== null) return (c.low + c.high) / 2;
  return null;
}

export interface LatestEntry {
  claim: SummaryClaim;
  previous?: SummaryClaim;
}

/**
 * Per metric, per source: the claim that stands (for an incremental metric, the latest period's)
 * and the figure before it in its group, the one it superseded last. Which claims stand is the
 * rows' `standing`, as the history has it. Retracted claims never count.
 */
export function latestPerSource(claims: SummaryClaim[]): Map<string, LatestEntry[]> {
  const groups = new Map<string, Map<string, SummaryClaim[]>>();
  const before = new Map<string, SummaryClaim>();
  for (const c of claims) {
    if (c.status === 'retracted') continue;
    if (c.standing !== c.claimId) {
      if (c.standingRank === 2) before.set(c.standing, c);
      continue;
    }
    const bySource = groups.get(c.metric) ?? new Map<string, SummaryClaim[]>();
    const list = bySource.get(c.source.id) ?? [];
    list.push(c);
    bySource.set(c.source.id, list);
    groups.set(c.metric, bySource);
  }
  const out = new Map<string, LatestEntry[]>();
  for (const [metric, bySource] of groups) {
    const entries: LatestEntry[] = [];
    for (const list of bySource.values()) {
      list.sort(latestFirst);
      const claim = list[0];
      const previous = claim && before.get(claim.claimId);
      if (claim) entries.push(previous ? { claim, previous } : { claim });
    }
    entries.sort((a, b) => a.claim.source.id.localeCompare(b.claim.source.id));
    out.set(metric, entries);
  }
  return out;
}

/** Hull of the latest claims' intervals across sources. */
export function envelopeOf(latest: SummaryClaim[]): SummaryMetric['envelope'] {
  if (latest.length === 0) return null;
  let minLow = Infinity;
  let maxHigh: number | null = -Infinity;
  for (const c of latest) {
    const i = intervalOf(c);
    minLow = Math.min(minLow, i.low);
    maxHigh = maxHigh === null || i.high === null ? null : Math.max(maxHigh, i.high);
  }
  return { minLow, maxHigh, sources: new Set(latest.map((c) => c.source.id)).size };
}

/**
 * How far apart the claims' valid times are, in days. Cumulative totals and stocks describe an
 * instant (the end of their valid time), so only the ends are compared; incremental figures
 * describe a period, so both ends of it must agree.
 */
export function validSpreadDays(claims: SummaryClaim[], aggregation: string | null): number {
  return round6(spreadMs(claims, aggregation === 'incremental') / DAY_MS);
}

const fmt = (n: number | null): string => (n === null ? '∞' : String(n));
const fmtInterval = (i: Interval): string => `[${fmt(i.low)}, ${fmt(i.high)}]`;

/**
 * How many checks and conflicts one metric's answer lists at most. The newest are kept (by the end
 * of the composite's valid time; for a conflict, the later of its two ends); the counts say how
 * many were left off. Pairing itself visits each claim once per other source stating something
 * within the tolerance of it, so the work grows with the claims and the sources that overlap in
 * time, never with every pair of claims.
 */
export const SUMMARY_LIST_LIMITS = { checks: 1000, conflicts: 1000 } as const;

/**
 * Aligned candidates of one part looked at per composite claim and source: the nearest in time.
 * A source stating a part more often than this within the tolerance of one composite claim is
 * paired from its nearest figures only.
 */
const CANDIDATES_PER_PART = 32;

/** Claims in the order pairing searches them: the end of the valid time, then the newer statement first. */
function byEnd(a: SummaryClaim, b: SummaryClaim): number {
  return a.validToAt - b.validToAt || b.statedFrom - a.statedFrom || b.seq - a.seq;
}

/** First index of `sorted` (byEnd) whose valid time ends at or after `t`. */
function firstEndingFrom(sorted: SummaryClaim[], t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.validToAt < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * How far apart claims' valid times lie, in ms: the ends for cumulative totals and stocks (they
 * describe the instant their valid time ends), both ends for incremental figures (a period).
 */
function spreadMs(claims: SummaryClaim[], incremental: boolean): number {
  let minEnd = Infinity;
  let maxEnd = -Infinity;
  let minStart = Infinity;
  let maxStart = -Infinity;
  for (const c of claims) {
    minEnd = Math.min(minEnd, c.validToAt);
    maxEnd = Math.max(maxEnd, c.validToAt);
    minStart = Math.min(minStart, c.validFromAt);
    maxStart = Math.max(maxStart, c.validFromAt);
  }
  if (claims.length < 2) return 0;
  return incremental ? Math.max(maxEnd - minEnd, maxStart - minStart) : maxEnd - minEnd;
}

/**
 * The claims of `sorted` (byEnd) aligned with `ref`: valid ends within the tolerance of its end
 * (and, for incremental figures, starts within it of its start), nearest first, then the newer
 * statement; at most `cap`.
 */
export function alignedWith(
  sorted: SummaryClaim[],
  ref: SummaryClaim,
  toleranceMs: number,
  incremental: boolean,
  cap: number,
): SummaryClaim[] {
  const out: { c: SummaryClaim; d: number }[] = [];
  let right = firstEndingFrom(sorted, ref.validToAt);
  let left = right - 1;
  while (out.length < cap) {
    const r = sorted[right];
    const l = sorted[left];
    const dr = r && r.validToAt - ref.validToAt <= toleranceMs ? r.validToAt - ref.validToAt : Infinity;
    const dl = l && ref.validToAt - l.validToAt <= toleranceMs ? ref.validToAt - l.validToAt : Infinity;
    if (dr === Infinity && dl === Infinity) break;
    const pick = dr <= dl ? sorted[right++]! : sorted[left--]!;
    if (pick === ref) continue;
    if (incremental && Math.abs(pick.validFromAt - ref.validFromAt) > toleranceMs) continue;
    out.push({ c: pick, d: Math.min(dr, dl) });
  }
  return out.sort((a, b) => a.d - b.d || b.c.statedFrom - a.c.statedFrom || b.c.seq - a.c.seq).map((x) => x.c);
}

/**
 * One claim per part, aligned with the composite claim `comp` and with each other (every valid
 * end within the tolerance of every other: the spread of the set at most the tolerance).
 * `candidates[i]` are part i's claims aligned with `comp`, nearest first. Parts stated in one
 * report are preferred (that report's figure nearest to the composite, per part); otherwise the
 * set whose times lie closest together, then the one with the newer figures. null: none aligns.
 */
export function alignedParts(
  comp: SummaryClaim,
  candidates: SummaryClaim[][],
  toleranceMs: number,
  incremental: boolean,
): { parts: SummaryClaim[]; sameReport: boolean } | null {
  if (candidates.some((c) => c.length === 0)) return null;
  type Pick = { parts: SummaryClaim[]; spread: number; newest: number };
  const better = (a: Pick, b: Pick | null) =>
    !b || a.spread < b.spread || (a.spread === b.spread && a.newest > b.newest);
  const pickOf = (parts: SummaryClaim[]): Pick => ({
    parts,
    spread: spreadMs([comp, ...parts], incremental),
    newest: Math.max(...parts.map((p) => p.seq)),
  });

  const byReport = new Map<string, (SummaryClaim | undefined)[]>();
  candidates.forEach((list, i) => {
    for (const c of list) {
      if (c.reportId === undefined) continue;
      const row = byReport.get(c.reportId) ?? candidates.map(() => undefined);
      row[i] ??= c;
      byReport.set(c.reportId, row);
    }
  });
  let best: Pick | null = null;
  for (const row of byReport.values()) {
    if (!row.every((c): c is SummaryClaim => c !== undefined)) continue;
    const p = pickOf(row);
    if (p.spread <= toleranceMs && better(p, best)) best = p;
  }
  if (best) return { parts: best.parts, sameReport: true };

  // A window of the tolerance's width that holds the composite's end and one figure of each part:
  // its start is the composite's end or a candidate's end before it; in each window each part
  // takes its earliest figure, which keeps the set as close together as that window allows.
  const sorted = candidates.map((list) => [...list].sort(byEnd));
  const starts = new Set([comp.validToAt, ...sorted.flat().map((c) => c.validToAt)]);
  for (const start of starts) {
    if (start > comp.validToAt) continue;
    const parts: SummaryClaim[] = [];
    for (const list of sorted) {
      const c = list[firstEndingFrom(list, start)];
      if (!c || c.validToAt > start + toleranceMs) break;
      parts.push(c);
    }
    if (parts.length < sorted.length) continue;
    const p = pickOf(parts);
    if (p.spread <= toleranceMs && better(p, best)) best = p;
  }
  return best ? { parts: best.parts, sameReport: false } : null;
}

const claimBrief = (c: SummaryClaim) => ({
  claimId: c.claimId,
  statedAt: c.statedAt,
  low: c.low,
  high: c.high,
  validFrom: c.validFrom,
  validTo: c.validTo,
});

/** The claims of `metric`, not retracted, per source, each list in byEnd order. */
function bySourceSorted(claims: SummaryClaim[], metric: string, unit: string | null): Map<string, SummaryClaim[]> {
  const out = new Map<string, SummaryClaim[]>();
  for (const c of claims) {
    if (c.metric !== metric || c.status === 'retracted' || (unit !== null && c.unit !== unit)) continue;
    const list = out.get(c.source.id) ?? [];
    list.push(c);
    out.set(c.source.id, list);
  }
  for (const list of out.values()) list.sort(byEnd);
  return out;
}

export interface CompositeChecks {
  checks: CompositeCheck[];
  skipped: { reason: string }[];
  /** Pairs of a composite claim and a source's parts further apart in time than the tolerance. */
  unaligned: number;
  /** Per pair of sources with at least one check: how many checks, and how many pairs did not align. */
  sourcePairs: SummaryMetric['sourcePairs'];
  /** Checks past SUMMARY_LIST_LIMITS.checks, left off the list. */
  checksLeftOff: number;
}

/**
 * The checks of one composite metric, paired by time. Each composite claim that is not retracted
 * (superseded ones too: each was its source's figure for its time) is checked against each
 * source's sum of parts aligned with it (alignedParts), by interval arithmetic on low/high; the
 * result is a verdict with the numbers, never an average. A source that states every part but
 * none aligned with the composite claim counts in `unaligned`. A part whose low exceeds an
 * aligned composite's high is a check with status `part_exceeds_total`, even when the source's
 * other parts do not align (then the check lists that part alone, `complete: false`). Parts whose
 * aggregation differs from the composite's (an incremental figure in a cumulative total) never
 * join a sum: the metric is skipped instead.
 */
export function compositeChecks(
  def: MetricDef,
  defs: Map<string, MetricDef>,
  claims: SummaryClaim[],
  toleranceDays: number,
): CompositeChecks {
  const none: CompositeChecks = { checks: [], skipped: [], unaligned: 0, sourcePairs: [], checksLeftOff: 0 };
  const components = def.composedOf ?? [];
  if (components.length === 0) return none;
  const skipped: { reason: string }[] = [];
  for (const m of components) {
    const d = defs.get(m);
    if (d && d.aggregation !== def.aggregation) {
      skipped.push({
        reason: `${m} is ${d.aggregation} but ${def.metric} is ${def.aggregation}: ${d.aggregation === 'incremental' || def.aggregation === 'incremental' ? 'an incremental figure never joins a cumulative sum' : 'figures of different aggregations are not summed'}`,
      });
    }
  }
  if (skipped.length > 0) return { ...none, skipped };

  const incremental = def.aggregation === 'incremental';
  const toleranceMs = toleranceDays * DAY_MS;
  const unit = def.unit;
  // Figures in another unit than the definition's (stated before units were checked) never pair.
  const offUnit = new Map<string, Set<string>>();
  for (const c of claims) {
    if (c.status === 'retracted' || c.unit === unit) continue;
    if (c.metric !== def.metric && !components.includes(c.metric)) continue;
    const set = offUnit.get(c.source.id) ?? new Set<string>();
    set.add(c.metric);
    offUnit.set(c.source.id, set);
  }
  for (const [sourceId, metrics] of [...offUnit].sort(([a], [b]) => a.localeCompare(b))) {
    skipped.push({
      reason: `${sourceId}'s ${[...metrics].sort().join(', ')} claims are not in ${unit}: not compared`,
    });
  }

  const composites = claims
    .filter((c) => c.metric === def.metric && c.status !== 'retracted' && c.unit === unit)
    .sort(byEnd);
  const partsBySource = components.map((m) => bySourceSorted(claims, m, unit));
  // Every part claim in time order, for the window of sources stating something near a composite.
  const allParts = partsBySource.flatMap((bySource) => [...bySource.values()].flat()).sort(byEnd);
  const sourceOf = new Map<string, SummarySource>();
  for (const c of allParts) sourceOf.set(c.source.id, c.source);
  const statesEveryPart = new Set(
    [...sourceOf.keys()].filter((s) => partsBySource.every((bySource) => bySource.has(s))),
  );

  const checks: { check: CompositeCheck; endAt: number }[] = [];
  const checksPerPair = new Map<string, number>();
  const compositesPerSource = new Map<string, number>();
  const windowCount = new Map<string, number>();
  let enter = 0;
  let leave = 0;
  for (const comp of composites) {
    compositesPerSource.set(comp.source.id, (compositesPerSource.get(comp.source.id) ?? 0) + 1);
    // Sources with a part ending within the tolerance of this composite claim (composites come in end order).
    while (enter < allParts.length && allParts[enter]!.validToAt <= comp.validToAt + toleranceMs) {
      const s = allParts[enter++]!.source.id;
      windowCount.set(s, (windowCount.get(s) ?? 0) + 1);
    }
    while (leave < enter && allParts[leave]!.validToAt < comp.validToAt - toleranceMs) {
      const s = allParts[leave++]!.source.id;
      const n = (windowCount.get(s) ?? 0) - 1;
      if (n === 0) windowCount.delete(s);
      else windowCount.set(s, n);
    }
    const against = intervalOf(comp);
    for (const sourceId of [...windowCount.keys()].sort()) {
      const candidates = partsBySource.map((bySource) =>
        alignedWith(bySource.get(sourceId) ?? [], comp, toleranceMs, incremental, CANDIDATES_PER_PART),
      );
      const aligned = alignedParts(comp, candidates, toleranceMs, incremental);
      let parts: SummaryClaim[];
      if (aligned) parts = aligned.parts;
      else {
        // No aligned sum; a single aligned part above the total is still a contradiction.
        parts = candidates.flatMap((list) => {
          const over = list.find((p) => against.high !== null && intervalOf(p).low > against.high);
          return over ? [over] : [];
        });
        if (parts.length === 0) continue;
      }
      const exceeding = parts.filter((p) => against.high !== null && intervalOf(p).low > against.high);
      const sum = sumIntervals(parts.map(intervalOf));
      const { gap, direction } = intervalGap(sum, against);
      const status = exceeding.length > 0 ? 'part_exceeds_total' : gap > 0 ? 'gap' : 'consistent';
      const spread = round6(spreadMs([comp, ...parts], incremental) / DAY_MS);
      const summed = parts.map((p) => p.metric).join(' + ');
      const who = `${sourceId}'s ${summed} = ${fmtInterval(sum)}`;
      const vs = `${comp.source.id}'s ${def.metric} = ${fmtInterval(against)}`;
      const detail =
        status === 'part_exceeds_total'
          ? `${exceeding.map((p) => `${sourceId}'s ${p.metric} alone is at least ${intervalOf(p).low}`).join('; ')}, above ${vs}: a part exceeds the total`
          : status === 'gap'
            ? `${who} lies ${direction} ${vs}: a gap of ${gap}`
            : `${who} overlaps ${vs}`;
      checks.push({
        endAt: comp.validToAt,
        check: {
          composite: def.metric,
          components,
          componentSource: sourceOf.get(sourceId)!,
          compositeSource: comp.source,
          sameSource: comp.source.id === sourceId,
          complete: aligned !== null,
          sameReport: aligned?.sameReport ?? false,
          componentClaims: parts.map((p) => ({
            metric: p.metric,
            ...claimBrief(p),
            ...(p.reportId === undefined ? {} : { reportId: p.reportId }),
          })),
          compositeClaim: claimBrief(comp),
          sum,
          against,
          status,
          gap: gap > 0 ? gap : null,
          direction,
          exceeding: exceeding.map((p) => p.claimId),
          validSpreadDays: spread,
          toleranceDays,
          detail,
        },
      });
      const pair = `${sourceId}\u0000${comp.source.id}`;
      checksPerPair.set(pair, (checksPerPair.get(pair) ?? 0) + 1);
    }
  }

  // Each composite claim and each source stating every part make a pair; a pair without a check
  // did not align. (A source that never stated every part has no sum: its pairs are not counted.)
  let unaligned = composites.length * statesEveryPart.size;
  const sourcePairs: CompositeChecks['sourcePairs'] = [];
  const sourceById = new Map(composites.map((c) => [c.source.id, c.source]));
  for (const [pair, n] of [...checksPerPair].sort(([a], [b]) => cmp(a, b))) {
    const [componentId, compositeId] = pair.split('\u0000') as [string, string];
    const pairs = statesEveryPart.has(componentId) ? (compositesPerSource.get(compositeId) ?? 0) : n;
    unaligned -= statesEveryPart.has(componentId) ? n : 0;
    sourcePairs.push({
      componentSource: sourceOf.get(componentId)!,
      compositeSource: sourceById.get(compositeId)!,
      checks: n,
      unaligned: pairs - n,
    });
  }

  const kept = newest(checks, SUMMARY_LIST_LIMITS.checks)
    .sort(
      (a, b) =>
        cmp(a.check.componentSource.id, b.check.componentSource.id) ||
        cmp(a.check.compositeSource.id, b.check.compositeSource.id) ||
        b.endAt - a.endAt,
    )
    .map((x) => x.check);
  return { checks: kept, skipped, unaligned, sourcePairs, checksLeftOff: checks.length - kept.length };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The `limit` items with the latest `endAt` (a stable choice: ties keep their order). */
function newest<T extends { endAt: number }>(items: T[], limit: number): T[] {
  if (items.length <= limit) return [...items];
  return items
    .map((x, i) => ({ x, i }))
    .sort((a, b) => b.x.endAt - a.x.endAt || a.i - b.i)
    .slice(0, limit)
    .sort((a, b) => a.i - b.i)
    .map(({ x }) => x);
}

const claimRefOf = (c: SummaryClaim): ClaimRef => ({
  claimId: c.claimId,
  metric: c.metric,
  source: c.source,
  statedAt: c.statedAt,
  validFrom: c.validFrom,
  validTo: c.validTo,
  value: c.value,
  low: c.low,
  best: c.best,
  high: c.high,
});

/**
 * Who disagrees with whom about one metric: each claim that is not retracted is paired with each
 * other source's claim nearest to it in time among those aligned with it (valid ends within the
 * tolerance; both ends for incremental figures); a pair whose intervals do not overlap is a
 * conflict, `a` being the claim whose interval lies below. Claims in different units never pair.
 */
export function conflictsOf(
  claims: SummaryClaim[],
  aggregation: string | null,
  toleranceDays: number,
): { conflicts: Conflict[]; conflictsLeftOff: number } {
  const incremental = aggregation === 'incremental';
  const toleranceMs = toleranceDays * DAY_MS;
  const live = claims.filter((c) => c.status !== 'retracted').sort(byEnd);
  const bySource = new Map<string, SummaryClaim[]>();
  for (const c of live) {
    const list = bySource.get(c.source.id) ?? [];
    list.push(c);
    bySource.set(c.source.id, list);
  }
  const found: { conflict: Conflict; endAt: number; pair: string }[] = [];
  const seen = new Set<string>();
  const windowCount = new Map<string, number>();
  let enter = 0;
  let leave = 0;
  for (const a of live) {
    while (enter < live.length && live[enter]!.validToAt <= a.validToAt + toleranceMs) {
      const s = live[enter++]!.source.id;
      windowCount.set(s, (windowCount.get(s) ?? 0) + 1);
    }
    while (leave < enter && live[leave]!.validToAt < a.validToAt - toleranceMs) {
      const s = live[leave++]!.source.id;
      const n = (windowCount.get(s) ?? 0) - 1;
      if (n === 0) windowCount.delete(s);
      else windowCount.set(s, n);
    }
    for (const other of windowCount.keys()) {
      if (other === a.source.id) continue;
      const b = alignedWith(bySource.get(other) ?? [], a, toleranceMs, incremental, 1)[0];
      if (!b || b.unit !== a.unit) continue;
      const key = a.claimId < b.claimId ? `${a.claimId} ${b.claimId}` : `${b.claimId} ${a.claimId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const { gap, direction } = intervalGap(intervalOf(a), intervalOf(b));
      if (gap <= 0) continue;
      const [lower, upper] = direction === 'below' ? [a, b] : [b, a];
      found.push({
        conflict: {
          a: claimRefOf(lower),
          b: claimRefOf(upper),
          gap,
          days: round6(spreadMs([a, b], incremental) / DAY_MS),
        },
        endAt: Math.max(a.validToAt, b.validToAt),
        pair: [lower.source.id, upper.source.id].sort().join('\u0000'),
      });
    }
  }
  const kept = newest(found, SUMMARY_LIST_LIMITS.conflicts).sort(
    (x, y) => cmp(x.pair, y.pair) || y.endAt - x.endAt || y.conflict.gap - x.conflict.gap,
  );
  return { conflicts: kept.map((x) => x.conflict), conflictsLeftOff: found.length - kept.length };
}

function latestOut(e: LatestEntry): SummaryMetric['latest'][number] {
  const c = e.claim;
  const p = e.previous;
  const now = centre(c);
  const before = p ? centre(p) : null;
  return {
    source: c.source,
    claimId: c.claimId,
    statedAt: c.statedAt,
    validFrom: c.validFrom,
    validTo: c.validTo,
    value: c.value,
    low: c.low,
    best: c.best,
    high: c.high,
    status: c.status,
    seq: c.seq,
    recordedAt: c.recordedAt,
    ...(c.quote === undefined ? {} : { quote: c.quote }),
    ...(p
      ? {
          previous: {
            claimId: p.claimId,
            statedAt: p.statedAt,
            value: p.value,
            low: p.low,
            best: p.best,
            high: p.high,
          },
          change: now === null || before === null ? null : round6(now - before),
        }
      : {}),
  };
}

/** The summary of a topic's metrics from the claims and definitions visible at one instant. */
export function summarise(claims: SummaryClaim[], defs: MetricDef[], toleranceDays: number): SummaryMetric[] {
  const defMap = new Map(defs.map((d) => [d.metric, d]));
  const latest = latestPerSource(claims);
  const byMetric = new Map<string, SummaryClaim[]>();
  for (const c of claims) {
    const list = byMetric.get(c.metric) ?? [];
    list.push(c);
    byMetric.set(c.metric, list);
  }
  const metrics = [...byMetric.keys()].sort();
  return metrics.map((metric) => {
    const def = defMap.get(metric);
    const own = byMetric.get(metric) ?? [];
    const entries = latest.get(metric) ?? [];
    const composite = def
      ? compositeChecks(def, defMap, claims, toleranceDays)
      : { checks: [], skipped: [], unaligned: 0, sourcePairs: [], checksLeftOff: 0 };
    const aggregation = def?.aggregation ?? null;
    return {
      metric,
      label: def?.label ?? null,
      unit: def?.unit ?? own[0]?.unit ?? null,
      aggregation,
      composedOf: def?.composedOf ?? null,
      latest: entries.map(latestOut),
      envelope: envelopeOf(entries.map((e) => e.claim)),
      ...composite,
      ...conflictsOf(own, aggregation, toleranceDays),
    };
  });
}
