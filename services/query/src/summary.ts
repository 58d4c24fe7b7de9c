// The topic summary: pure functions over the claims and metric definitions visible at one instant.
import type { CompositeCheck, SummaryMetric } from '@claimtrail/shared/contract';
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
  if (claims.length < 2) return 0;
  const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
  const ends = spread(claims.map((c) => c.validToAt));
  const ms = aggregation === 'incremental' ? Math.max(ends, spread(claims.map((c) => c.validFromAt))) : ends;
  return round6(ms / DAY_MS);
}

const fmt = (n: number | null): string => (n === null ? '∞' : String(n));
const fmtInterval = (i: Interval): string => `[${fmt(i.low)}, ${fmt(i.high)}]`;

/**
 * The checks of one composite metric: for every source that has a latest claim for each
 * component, the interval sum of those claims against every source's latest composite claim
 * (its own and the other sources'). Sums are never averaged with anything: the result is a
 * verdict with the numbers. Components whose aggregation differs from the composite's (an
 * incremental figure in a cumulative total) never join the sum; the check is skipped instead.
 */
export function compositeChecks(
  def: MetricDef,
  defs: Map<string, MetricDef>,
  latest: Map<string, LatestEntry[]>,
  toleranceDays: number,
): { checks: CompositeCheck[]; skipped: { reason: string }[] } {
  const components = def.composedOf ?? [];
  if (components.length === 0) return { checks: [], skipped: [] };
  const skipped: { reason: string }[] = [];
  for (const m of components) {
    const d = defs.get(m);
    if (d && d.aggregation !== def.aggregation) {
      skipped.push({
        reason: `${m} is ${d.aggregation} but ${def.metric} is ${def.aggregation}: ${d.aggregation === 'incremental' || def.aggregation === 'incremental' ? 'an incremental figure never joins a cumulative sum' : 'figures of different aggregations are not summed'}`,
      });
    }
  }
  if (skipped.length > 0) return { checks: [], skipped };

  const composites = (latest.get(def.metric) ?? []).map((e) => e.claim);
  // Sources with a latest claim for every component.
  const partsBySource = new Map<string, SummaryClaim[]>();
  const perComponent = components.map((m) => new Map((latest.get(m) ?? []).map((e) => [e.claim.source.id, e.claim])));
  const candidates = new Set(perComponent.flatMap((byS) => [...byS.keys()]));
  for (const s of [...candidates].sort()) {
    const parts = perComponent.map((byS) => byS.get(s));
    if (parts.every((p): p is SummaryClaim => p !== undefined)) partsBySource.set(s, parts);
  }

  const checks: CompositeCheck[] = [];
  for (const [sourceId, parts] of partsBySource) {
    const units = new Set([...parts, ...composites].map((c) => c.unit));
    if (units.size > 1) {
      skipped.push({
        reason: `${sourceId}'s ${components.join(' + ')} and the ${def.metric} claims are in different units (${[...units].join(', ')})`,
      });
      continue;
    }
    const sum = sumIntervals(parts.map(intervalOf));
    for (const comp of composites) {
      const against = intervalOf(comp);
      const { gap, direction } = intervalGap(sum, against);
      const spread = validSpreadDays([...parts, comp], def.aggregation);
      const status = spread > toleranceDays ? 'misaligned' : gap > 0 ? 'gap' : 'consistent';
      const who = `${sourceId}'s ${components.join(' + ')} = ${fmtInterval(sum)}`;
      const vs = `${comp.source.id}'s ${def.metric} = ${fmtInterval(against)}`;
      const detail =
        status === 'misaligned'
          ? `${who} and ${vs} describe times ${spread} days apart (tolerance ${toleranceDays}): not compared`
          : status === 'gap'
            ? `${who} lies ${direction} ${vs}: a gap of ${gap}`
            : `${who} overlaps ${vs}`;
      checks.push({
        composite: def.metric,
        components,
        componentSource: parts[0]!.source,
        compositeSource: comp.source,
        sameSource: comp.source.id === sourceId,
        componentClaims: parts.map((p) => ({
          metric: p.metric,
          claimId: p.claimId,
          low: p.low,
          high: p.high,
          validFrom: p.validFrom,
          validTo: p.validTo,
        })),
        compositeClaim: {
          claimId: comp.claimId,
          low: comp.low,
          high: comp.high,
          validFrom: comp.validFrom,
          validTo: comp.validTo,
        },
        sum,
        against,
        status,
        gap: gap > 0 ? gap : null,
        direction,
        validSpreadDays: spread,
        toleranceDays,
        detail,
      });
    }
  }
  return { checks, skipped };
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
  const metrics = [...new Set(claims.map((c) => c.metric))].sort();
  return metrics.map((metric) => {
    const def = defMap.get(metric);
    const entries = latest.get(metric) ?? [];
    const { checks, skipped } = def ? compositeChecks(def, defMap, latest, toleranceDays) : { checks: [], skipped: [] };
    return {
      metric,
      label: def?.label ?? null,
      unit: def?.unit ?? claims.find((c) => c.metric === metric)?.unit ?? null,
      aggregation: def?.aggregation ?? null,
      composedOf: def?.composedOf ?? null,
      latest: entries.map(latestOut),
      envelope: envelopeOf(entries.map((e) => e.claim)),
      checks,
      skipped,
    };
  });
}
