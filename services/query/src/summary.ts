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

/**
 * A sweep over instants newest first: the sources of `claims` (sorted by validToAt, newest first)
 * whose valid ends lie within `toleranceMs` of the instant, each with how many of its claims do.
 * Each call moves the window on from the last; the map answered is the window's own.
 */
function sourcesWithin(claims: readonly SummaryClaim[], toleranceMs: number) {
  const count = new Map<string, number>();
  let enter = 0;
  let leave = 0;
  return (atMs: number): ReadonlyMap<string, number> => {
    while (enter < claims.length && claims[enter]!.validToAt >= atMs - toleranceMs) {
      const s = claims[enter++]!.source.id;
      count.set(s, (count.get(s) ?? 0) + 1);
    }
    while (leave < enter && claims[leave]!.validToAt > atMs + toleranceMs) {
      const s = claims[leave++]!.source.id;
      const n = (count.get(s) ?? 0) - 1;
      if (n === 0) count.delete(s);
      else count.set(s, n);
    }
    return count;
  };
}

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
 * Bounds of one metric's pairing. Pairing visits each claim once per other source stating
 * something within the tolerance of it (sorted sweeps: never every pair of claims), newest claims
 * first, and stops before the claim that would take it past `pairs` such visits (about a quarter
 * of a second); the claims left (the oldest) are counted as not paired. `checks` and `conflicts`
 * are the most each list holds: the newest are kept, and the answer counts those left off;
 * `sourcePairs` lists the first pairs of sources in id order.
 */
export const SUMMARY_LIST_LIMITS = { checks: 1000, conflicts: 1000, sourcePairs: 1000, pairs: 200_000 } as const;

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

/** Where a source's part claims are found. */
interface PartIndex {
  /** Per part: source id → its claims (byEnd). */
  bySource: Map<string, SummaryClaim[]>[];
  /** Per part claim: per part, the claims of the same source stated in the same report (byEnd). */
  sameReport: Map<SummaryClaim, SummaryClaim[][]>;
}

/** The index of the parts' claims (`bySource`: per part, source id → its claims, byEnd). */
function partIndexOf(bySource: Map<string, SummaryClaim[]>[]): PartIndex {
  const reports = new Map<string, SummaryClaim[][]>();
  const sameReport = new Map<SummaryClaim, SummaryClaim[][]>();
  bySource.forEach((perSource, i) => {
    for (const [sourceId, list] of perSource)
      for (const c of list) {
        if (c.reportId === undefined) continue;
        const key = `${sourceId}\u0000${c.reportId}`;
        const row = reports.get(key) ?? bySource.map(() => []);
        row[i]!.push(c);
        reports.set(key, row);
        sameReport.set(c, row);
      }
  });
  return { bySource, sameReport };
}

/**
 * One claim per part of `sourceId`, aligned with the composite claim `comp` and with each other
 * (every valid end within the tolerance of every other: the spread of the set at most the
 * tolerance). Parts stated in one report come first: for each report that stated a part nearest
 * to the composite, that report's figures of every part nearest to it, when they all align (of
 * several such reports, the set closest together, then the newer). Otherwise each part's figure
 * nearest to the composite, when those align; otherwise the set of aligned figures closest
 * together. null: no set aligns.
 */
export function alignedParts(
  comp: SummaryClaim,
  sourceId: string,
  index: PartIndex,
  toleranceMs: number,
  incremental: boolean,
): { parts: SummaryClaim[]; sameReport: boolean } | null {
  const nearest: SummaryClaim[] = [];
  for (const bySource of index.bySource) {
    const p = nearestAligned(bySource.get(sourceId) ?? [], comp, toleranceMs, incremental);
    if (!p) return null;
    nearest.push(p);
  }
  // The set closest together, then the one with the newer figures; none past the tolerance.
  let best: { parts: SummaryClaim[]; spread: number; newest: number } | null = null;
  const consider = (parts: SummaryClaim[], b: typeof best): typeof best => {
    const spread = spreadMs([comp, ...parts], incremental);
    if (spread > toleranceMs) return b;
    const newest = Math.max(...parts.map((p) => p.seq));
    return !b || spread < b.spread || (spread === b.spread && newest > b.newest) ? { parts, spread, newest } : b;
  };
  const tried = new Set<SummaryClaim[][]>();
  for (const p of nearest) {
    const row = index.sameReport.get(p);
    if (!row || tried.has(row)) continue;
    tried.add(row);
    const parts: SummaryClaim[] = [];
    for (const list of row) {
      const q = nearestAligned(list, comp, toleranceMs, incremental);
      if (!q) break;
      parts.push(q);
    }
    if (parts.length === nearest.length) best = consider(parts, best);
  }
  if (best) return { parts: best.parts, sameReport: true };
  if (spreadMs([comp, ...nearest], incremental) <= toleranceMs) return { parts: nearest, sameReport: false };

  // The nearest figures lie too far from each other. A window of the tolerance's width that holds
  // the composite's end and one figure of each part: its start is the composite's end or a
  // candidate's end before it; in each window each part takes its earliest figure, which keeps
  // the set as close together as that window allows.
  const sorted = index.bySource.map((bySource) =>
    alignedWith(bySource.get(sourceId) ?? [], comp, toleranceMs, incremental, CANDIDATES_PER_PART).sort(byEnd),
  );
  const starts = new Set([comp.validToAt, ...sorted.flat().map((c) => c.validToAt)]);
  for (const start of starts) {
    if (start > comp.validToAt) continue;
    const parts: SummaryClaim[] = [];
    for (const list of sorted) {
      const c = list[firstEndingFrom(list, start)];
      if (!c || c.validToAt > start + toleranceMs) break;
      parts.push(c);
    }
    if (parts.length === sorted.length) best = consider(parts, best);
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
  /** Per pair of sources with a check or an unaligned pair: how many checks, and how many pairs did not align. */
  sourcePairs: SummaryMetric['sourcePairs'];
  /** Checks past SUMMARY_LIST_LIMITS.checks, left off the list. */
  checksLeftOff: number;
  /** Pairs of sources past SUMMARY_LIST_LIMITS.sourcePairs, left off the list. */
  sourcePairsLeftOff: number;
  /** Composite claims (the oldest) not paired at all: the pair budget ran out before them. */
  compositesNotPaired: number;
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
/** The checks of a metric that is not a composite (or not defined): none, a new object each time. */
const noChecks = (): CompositeChecks => ({
  checks: [],
  skipped: [],
  unaligned: 0,
  sourcePairs: [],
  checksLeftOff: 0,
  sourcePairsLeftOff: 0,
  compositesNotPaired: 0,
});

export function compositeChecks(
  def: MetricDef,
  defs: Map<string, MetricDef>,
  claims: SummaryClaim[],
  toleranceDays: number,
): CompositeChecks {
  const none = noChecks();
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
  for (const [sourceId, metrics] of [...offUnit].sort(([a], [b]) => cmp(a, b))) {
    skipped.push({
      reason: `${sourceId}'s ${[...metrics].sort().join(', ')} claims are not in ${unit}: not compared`,
    });
  }

  // Newest first: past the pair budget, the oldest composite claims are the ones left unpaired.
  const composites = claims
    .filter((c) => c.metric === def.metric && c.status !== 'retracted' && c.unit === unit)
    .sort(byEnd)
    .reverse();
  const bySource = components.map((m) => bySourceSorted(claims, m, unit));
  const index = partIndexOf(bySource);
  // Every part claim, newest end first, for the window of sources stating something near a composite.
  const allParts = bySource
    .flatMap((perSource) => [...perSource.values()].flat())
    .sort(byEnd)
    .reverse();
  const sourceOf = new Map<string, SummarySource>();
  for (const c of allParts) sourceOf.set(c.source.id, c.source);
  const statesEveryPart = new Set([...sourceOf.keys()].filter((s) => bySource.every((perSource) => perSource.has(s))));

  const limit = SUMMARY_LIST_LIMITS.checks;
  const found: Found[] = [];
  let total = 0;
  let budget = SUMMARY_LIST_LIMITS.pairs;
  let paired = 0;
  // Checks per source of parts, per source of the composite.
  const checksPerPair = new Map<string, Map<string, number>>();
  // Per part, per source: its highest low (a part above a total needs one above the total's high).
  const maxLow = bySource.map(
    (perSource) =>
      new Map([...perSource].map(([sourceId, list]) => [sourceId, list.reduce((m, c) => Math.max(m, c.low ?? 0), 0)])),
  );
  const compositesPerSource = new Map<string, number>();
  const partSourcesAt = sourcesWithin(allParts, toleranceMs);
  for (const comp of composites) {
    // Sources with a part ending within the tolerance of this composite claim (both newest first).
    const windowCount = partSourcesAt(comp.validToAt);
    if (windowCount.size > budget) break;
    budget -= windowCount.size;
    paired += 1;
    compositesPerSource.set(comp.source.id, (compositesPerSource.get(comp.source.id) ?? 0) + 1);
    const high = comp.high;
    const exceeds = (p: SummaryClaim) => high !== null && (p.low ?? 0) > high;
    for (const sourceId of windowCount.keys()) {
      const aligned = alignedParts(comp, sourceId, index, toleranceMs, incremental);
      // No aligned sum: a single aligned part above the total is still a contradiction.
      const parts = aligned
        ? aligned.parts
        : bySource.flatMap((perSource, i) => {
            const list = perSource.get(sourceId);
            if (!list || high === null || maxLow[i]!.get(sourceId)! <= high) return [];
            const over = alignedWith(list, comp, toleranceMs, incremental, CANDIDATES_PER_PART).find(exceeds);
            return over ? [over] : [];
          });
      if (parts.length === 0) continue;
      total += 1;
      if (found.length < limit)
        found.push({ comp, sourceId, parts, complete: aligned !== null, sameReport: aligned?.sameReport ?? false });
      const perComposite = checksPerPair.get(sourceId) ?? new Map<string, number>();
      perComposite.set(comp.source.id, (perComposite.get(comp.source.id) ?? 0) + 1);
      checksPerPair.set(sourceId, perComposite);
    }
  }

  // Each composite claim paired and each source stating every part make a pair; a pair without a
  // check did not align. (A source that never stated every part has no sum: its pairs are not counted.)
  let unaligned = paired * statesEveryPart.size;
  for (const [sourceId, perComposite] of checksPerPair)
    if (statesEveryPart.has(sourceId)) for (const n of perComposite.values()) unaligned -= n;
  // Per pair of sources with a check or an unaligned pair: the counts, in id order, the first
  // SUMMARY_LIST_LIMITS.sourcePairs listed.
  const sourceById = new Map(composites.map((c) => [c.source.id, c.source]));
  const compositeIds = [...compositesPerSource.keys()].sort(cmp);
  const sourcePairs: CompositeChecks['sourcePairs'] = [];
  let sourcePairsLeftOff = 0;
  for (const componentId of [...sourceOf.keys()].sort(cmp)) {
    const checked = checksPerPair.get(componentId);
    const full = statesEveryPart.has(componentId);
    if (!checked && !full) continue;
    for (const compositeId of compositeIds) {
      const n = checked?.get(compositeId) ?? 0;
      const apart = full ? compositesPerSource.get(compositeId)! - n : 0;
      if (n === 0 && apart === 0) continue;
      if (sourcePairs.length >= SUMMARY_LIST_LIMITS.sourcePairs) {
        sourcePairsLeftOff += 1;
        continue;
      }
      sourcePairs.push({
        componentSource: sourceOf.get(componentId)!,
        compositeSource: sourceById.get(compositeId)!,
        checks: n,
        unaligned: apart,
      });
    }
  }

  const checks = found
    .sort(
      (a, b) =>
        cmp(a.sourceId, b.sourceId) ||
        cmp(a.comp.source.id, b.comp.source.id) ||
        b.comp.validToAt - a.comp.validToAt ||
        b.comp.seq - a.comp.seq,
    )
    .map((f) => checkOf(def, f, sourceOf.get(f.sourceId)!, incremental, toleranceDays));
  return {
    checks,
    skipped,
    unaligned,
    sourcePairs,
    checksLeftOff: total - found.length,
    sourcePairsLeftOff,
    compositesNotPaired: composites.length - paired,
  };
}

/** A check found: a composite claim and the parts of one source it is checked against. */
interface Found {
  comp: SummaryClaim;
  sourceId: string;
  parts: SummaryClaim[];
  complete: boolean;
  sameReport: boolean;
}

/** A check as the answer gives it: the verdict with its numbers, never an average. */
function checkOf(
  def: MetricDef,
  f: Found,
  componentSource: SummarySource,
  incremental: boolean,
  toleranceDays: number,
): CompositeCheck {
  const { comp, sourceId, parts } = f;
  const against = intervalOf(comp);
  const exceeding = parts.filter((p) => against.high !== null && intervalOf(p).low > against.high);
  const sum = sumIntervals(parts.map(intervalOf));
  const { gap, direction } = intervalGap(sum, against);
  const status = exceeding.length > 0 ? 'part_exceeds_total' : gap > 0 ? 'gap' : 'consistent';
  const who = `${sourceId}'s ${parts.map((p) => p.metric).join(' + ')} = ${fmtInterval(sum)}`;
  const vs = `${comp.source.id}'s ${def.metric} = ${fmtInterval(against)}`;
  const detail =
    status === 'part_exceeds_total'
      ? `${exceeding.map((p) => `${sourceId}'s ${p.metric} alone is at least ${intervalOf(p).low}`).join('; ')}, above ${vs}: a part exceeds the total`
      : status === 'gap'
        ? `${who} lies ${direction} ${vs}: a gap of ${gap}`
        : `${who} overlaps ${vs}`;
  return {
    composite: def.metric,
    components: def.composedOf ?? [],
    componentSource,
    compositeSource: comp.source,
    sameSource: comp.source.id === sourceId,
    complete: f.complete,
    sameReport: f.sameReport,
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
    validSpreadDays: round6(spreadMs([comp, ...parts], incremental) / DAY_MS),
    toleranceDays,
    detail,
  };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

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
 * The claim of `sorted` (byEnd) aligned with `ref` and nearest to it in time (then the newer
 * statement), or undefined: alignedWith's first, without building the list.
 */
function nearestAligned(
  sorted: SummaryClaim[],
  ref: SummaryClaim,
  toleranceMs: number,
  incremental: boolean,
): SummaryClaim | undefined {
  let best: SummaryClaim | undefined;
  let bestD = Infinity;
  const consider = (c: SummaryClaim, d: number) => {
    if (incremental && Math.abs(c.validFromAt - ref.validFromAt) > toleranceMs) return;
    if (d < bestD || (best !== undefined && d === bestD && (c.statedFrom - best.statedFrom || c.seq - best.seq) > 0)) {
      best = c;
      bestD = d;
    }
  };
  const from = firstEndingFrom(sorted, ref.validToAt);
  for (let i = from; i < sorted.length; i++) {
    const d = sorted[i]!.validToAt - ref.validToAt;
    if (d > toleranceMs || d > bestD) break;
    consider(sorted[i]!, d);
  }
  for (let i = from - 1; i >= 0; i--) {
    const d = ref.validToAt - sorted[i]!.validToAt;
    if (d > toleranceMs || d > bestD) break;
    consider(sorted[i]!, d);
  }
  return best;
}

/**
 * Who disagrees with whom about one metric: each claim that is not retracted is paired with each
 * other source's claim nearest to it in time among those aligned with it (valid ends within the
 * tolerance; both ends for incremental figures); a pair whose intervals do not overlap is a
 * conflict, `a` being the claim whose interval lies below. Claims in different units never pair.
 * Only the newest SUMMARY_LIST_LIMITS.conflicts are kept (by the later end of the two).
 */
export function conflictsOf(
  claims: SummaryClaim[],
  aggregation: string | null,
  toleranceDays: number,
): { conflicts: Conflict[]; conflictsLeftOff: number; claimsNotPaired: number } {
  const incremental = aggregation === 'incremental';
  const toleranceMs = toleranceDays * DAY_MS;
  const limit = SUMMARY_LIST_LIMITS.conflicts;
  const sorted = claims.filter((c) => c.status !== 'retracted').sort(byEnd);
  // Newest first: past the pair budget, the oldest claims are the ones left unpaired.
  const live = [...sorted].reverse();
  const order = new Map(live.map((c, i) => [c, i]));
  const bySource = new Map<string, SummaryClaim[]>();
  for (const c of sorted) {
    const list = bySource.get(c.source.id) ?? [];
    list.push(c);
    bySource.set(c.source.id, list);
  }
  type Found = { lower: SummaryClaim; upper: SummaryClaim; gap: number; endAt: number };
  const newestFirst = (x: Found, y: Found) => y.endAt - x.endAt || y.gap - x.gap;
  let found: Found[] = [];
  let total = 0;
  let budget = SUMMARY_LIST_LIMITS.pairs;
  let paired = 0;
  const sourcesAt = sourcesWithin(live, toleranceMs);
  for (const a of live) {
    const windowCount = sourcesAt(a.validToAt);
    if (windowCount.size > budget) break;
    budget -= windowCount.size;
    paired += 1;
    for (const other of windowCount.keys()) {
      if (other === a.source.id) continue;
      const b = nearestAligned(bySource.get(other)!, a, toleranceMs, incremental);
      if (!b || b.unit !== a.unit) continue;
      // A pair each finds as the other's nearest is found twice: the earlier of the two keeps it.
      if (
        order.get(b)! < order.get(a)! &&
        nearestAligned(bySource.get(a.source.id)!, b, toleranceMs, incremental) === a
      )
        continue;
      const { gap, direction } = intervalGap(intervalOf(a), intervalOf(b));
      if (gap <= 0) continue;
      total += 1;
      const [lower, upper] = direction === 'below' ? [a, b] : [b, a];
      found.push({ lower, upper, gap, endAt: Math.max(a.validToAt, b.validToAt) });
      if (found.length >= 2 * limit) found = found.sort(newestFirst).slice(0, limit);
    }
  }
  const kept = found.sort(newestFirst).slice(0, limit);
  const conflicts = kept
    .sort(
      (x, y) =>
        cmp(x.lower.source.id, y.lower.source.id) || cmp(x.upper.source.id, y.upper.source.id) || newestFirst(x, y),
    )
    .map((f) => ({
      a: claimRefOf(f.lower),
      b: claimRefOf(f.upper),
      gap: f.gap,
      days: round6(spreadMs([f.lower, f.upper], incremental) / DAY_MS),
    }));
  return { conflicts, conflictsLeftOff: total - kept.length, claimsNotPaired: live.length - paired };
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
    const composite = def ? compositeChecks(def, defMap, claims, toleranceDays) : noChecks();
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
