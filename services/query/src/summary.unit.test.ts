import { describe, expect, it } from 'vitest';
import type { ClaimValue } from '@claimtrail/shared/events';
import {
  envelopeOf,
  intervalGap,
  latestPerSource,
  sumIntervals,
  SUMMARY_LIST_LIMITS,
  summarise,
  validSpreadDays,
  type MetricDef,
  type SummaryClaim,
} from './summary.ts';

// Every expected number below is worked out by hand in the comment beside it.

const DEMO_DEFS: MetricDef[] = [
  { metric: 'killed', label: 'Killed', unit: 'persons', aggregation: 'cumulative', composedOf: null },
  { metric: 'wounded', label: 'Wounded', unit: 'persons', aggregation: 'cumulative', composedOf: null },
  {
    metric: 'killed_or_wounded',
    label: 'Killed or wounded',
    unit: 'persons',
    aggregation: 'cumulative',
    composedOf: ['killed', 'wounded'],
  },
  { metric: 'deployed', label: 'Troops deployed', unit: 'persons', aggregation: 'stock', composedOf: null },
  {
    metric: 'reinforcements',
    label: 'Reinforcements sent in the period',
    unit: 'persons',
    aggregation: 'incremental',
    composedOf: null,
  },
];

const ms = (iso: string) => Date.parse(iso);
/**
 * Month- and day-precision dates as the projector normalises them: [first day, first day of the
 * next month) and [the day, the next day).
 */
const month = (date: string) => {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number | undefined];
  return d === undefined
    ? { from: Date.UTC(y, m - 1, 1), to: Date.UTC(y, m, 1) }
    : { from: Date.UTC(y, m - 1, d), to: Date.UTC(y, m - 1, d + 1) };
};

function bounds(v: ClaimValue) {
  switch (v.kind) {
    case 'exact':
      return { low: v.value, best: v.value, high: v.value };
    case 'approx':
      return {
        low: Math.round(v.value * 0.95 * 1e6) / 1e6,
        best: v.value,
        high: Math.round(v.value * 1.05 * 1e6) / 1e6,
      };
    case 'range':
      return { low: v.low, best: null, high: v.high };
    case 'at_least':
      return { low: v.value, best: null, high: null };
    case 'at_most':
      return { low: null, best: null, high: v.value };
  }
}

let seq = 0;
function claim(
  metric: string,
  source: string,
  value: ClaimValue,
  o: {
    statedAt?: string;
    validFrom?: string;
    validTo?: string;
    status?: SummaryClaim['status'];
    unit?: string;
    reportId?: string;
  } = {},
): SummaryClaim {
  const statedAt = o.statedAt ?? '2025-01';
  const validFrom = o.validFrom ?? statedAt;
  const validTo = o.validTo ?? statedAt;
  seq += 1;
  return {
    claimId: `clm_${seq}`,
    metric,
    unit: o.unit ?? 'persons',
    source: { id: source },
    value,
    ...bounds(value),
    statedAt,
    statedFrom: month(statedAt).from,
    validFrom,
    validTo,
    validFromAt: month(validFrom).from,
    validToAt: month(validTo).to,
    status: o.status ?? 'active',
    seq,
    recordedAt: new Date(ms('2026-01-01T00:00:00Z') + seq * 1000).toISOString(),
    ...(o.reportId === undefined ? {} : { reportId: o.reportId }),
    standing: `clm_${seq}`,
    standingRank: 1,
  };
}

/**
 * `claims` of one source and metric with the standing the SQL rule (supersession.sql.ts) gives
 * them, listed in its order: the first stands, the others are superseded by it.
 */
function standing(...claims: SummaryClaim[]): SummaryClaim[] {
  const live = claims.filter((c) => c.status !== 'retracted');
  return claims.map((c) => {
    const rank = live.indexOf(c);
    return rank < 0 ? c : { ...c, standing: live[0]!.claimId, standingRank: rank + 1 };
  });
}

/** The demo report's claims (demo/nk-troops-russia.report.json). */
function demoClaims(): SummaryClaim[] {
  return [
    claim(
      'deployed',
      'us-kr-ua-intelligence',
      { kind: 'range', low: 10000, high: 12000 },
      { statedAt: '2024-11', validFrom: '2024-09', validTo: '2024-11' },
    ),
    claim('killed', 'kr-nis', { kind: 'approx', value: 300 }),
    claim('wounded', 'kr-nis', { kind: 'exact', value: 2700 }),
    claim('killed_or_wounded', 'ua-president', { kind: 'approx', value: 4000 }),
    claim('killed_or_wounded', 'us-government', { kind: 'approx', value: 1200 }),
    claim(
      'reinforcements',
      'kr-local-sources',
      { kind: 'range', low: 1000, high: 3000 },
      { statedAt: '2025-02', validFrom: '2025-01', validTo: '2025-02' },
    ),
  ];
}

describe('interval arithmetic', () => {
  it('sums lows and highs; an open high stays open', () => {
    expect(
      sumIntervals([
        { low: 285, high: 315 },
        { low: 2700, high: 2700 },
      ]),
    ).toEqual({ low: 2985, high: 3015 });
    expect(
      sumIntervals([
        { low: 600, high: null },
        { low: 10, high: 20 },
      ]),
    ).toEqual({ low: 610, high: null });
  });
  it('measures the gap between disjoint intervals and says which side', () => {
    expect(intervalGap({ low: 2985, high: 3015 }, { low: 3800, high: 4200 })).toEqual({ gap: 785, direction: 'below' });
    expect(intervalGap({ low: 2985, high: 3015 }, { low: 1140, high: 1260 })).toEqual({
      gap: 1725,
      direction: 'above',
    });
    expect(intervalGap({ low: 10, high: 20 }, { low: 20, high: 30 })).toEqual({ gap: 0, direction: null });
    expect(intervalGap({ low: 10, high: null }, { low: 500, high: 600 })).toEqual({ gap: 0, direction: null });
  });
});

describe('the demo topic', () => {
  const metrics = summarise(demoClaims(), DEMO_DEFS, 31);
  const byName = new Map(metrics.map((m) => [m.metric, m]));

  it('lists every metric with claims, with its definition', () => {
    expect(metrics.map((m) => m.metric)).toEqual([
      'deployed',
      'killed',
      'killed_or_wounded',
      'reinforcements',
      'wounded',
    ]);
    expect(byName.get('killed_or_wounded')).toMatchObject({
      label: 'Killed or wounded',
      aggregation: 'cumulative',
      composedOf: ['killed', 'wounded'],
    });
  });

  it('South Korea NIS killed + wounded against the Ukrainian president: a gap of 785, not an average', () => {
    const kow = byName.get('killed_or_wounded')!;
    const ua = kow.checks.find((c) => c.compositeSource.id === 'ua-president')!;
    // killed ≈300 → [285, 315]; wounded 2700 → [2700, 2700]; sum [2985, 3015].
    // "around 4,000" → [3800, 4200]. 3800 − 3015 = 785, the sum lies below.
    expect(ua).toMatchObject({
      composite: 'killed_or_wounded',
      components: ['killed', 'wounded'],
      componentSource: { id: 'kr-nis' },
      sameSource: false,
      sum: { low: 2985, high: 3015 },
      against: { low: 3800, high: 4200 },
      status: 'gap',
      gap: 785,
      direction: 'below',
      validSpreadDays: 0,
      toleranceDays: 31,
    });
    expect(ua.detail).toBe(
      "kr-nis's killed + wounded = [2985, 3015] lies below ua-president's killed_or_wounded = [3800, 4200]: a gap of 785",
    );
  });

  it('NIS against the US government: its wounded alone exceed the total, the sum lies 1725 above', () => {
    const us = byName.get('killed_or_wounded')!.checks.find((c) => c.compositeSource.id === 'us-government')!;
    // "approximately 1,200" → [1140, 1260]; 2985 − 1260 = 1725. The 2,700 wounded alone lie above 1,260.
    const wounded = us.componentClaims.find((p) => p.metric === 'wounded')!;
    expect(wounded.low).toBe(2700);
    expect(us).toMatchObject({
      sum: { low: 2985, high: 3015 },
      against: { low: 1140, high: 1260 },
      status: 'part_exceeds_total',
      exceeding: [wounded.claimId],
      gap: 1725,
      direction: 'above',
    });
  });

  it('makes exactly those two checks', () => {
    expect(byName.get('killed_or_wounded')!.checks).toHaveLength(2);
    expect(metrics.filter((m) => m.metric !== 'killed_or_wounded').every((m) => m.checks.length === 0)).toBe(true);
  });

  it('envelope across sources: the hull of the latest intervals', () => {
    // [3800, 4200] ∪ [1140, 1260] → minLow 1140, maxHigh 4200.
    expect(byName.get('killed_or_wounded')!.envelope).toEqual({ minLow: 1140, maxHigh: 4200, sources: 2 });
    expect(byName.get('deployed')!.envelope).toEqual({ minLow: 10000, maxHigh: 12000, sources: 1 });
  });

  it('latest per source carries the figure and no previous one (each source spoke once)', () => {
    const killed = byName.get('killed')!;
    expect(killed.latest).toHaveLength(1);
    expect(killed.latest[0]).toMatchObject({
      source: { id: 'kr-nis' },
      low: 285,
      best: 300,
      high: 315,
      status: 'active',
    });
    expect(killed.latest[0]!.previous).toBeUndefined();
  });
});

describe('composite checks', () => {
  const kowDefs = DEMO_DEFS;

  it('a source whose parts fit its own total is consistent', () => {
    const claims = [
      claim('killed', 'a', { kind: 'exact', value: 100 }),
      claim('wounded', 'a', { kind: 'range', low: 200, high: 400 }),
      claim('killed_or_wounded', 'a', { kind: 'at_least', value: 450 }),
    ];
    const [check] = summarise(claims, kowDefs, 31).find((m) => m.metric === 'killed_or_wounded')!.checks;
    // [100 + 200, 100 + 400] = [300, 500] overlaps [450, ∞).
    expect(check).toMatchObject({
      sameSource: true,
      sum: { low: 300, high: 500 },
      against: { low: 450, high: null },
      status: 'consistent',
      gap: null,
      direction: null,
    });
  });

  it('an at_most part leaves the low at 0 and can still show a gap', () => {
    const claims = [
      claim('killed', 'a', { kind: 'at_most', value: 30 }),
      claim('wounded', 'a', { kind: 'exact', value: 50 }),
      claim('killed_or_wounded', 'b', { kind: 'exact', value: 100 }),
    ];
    const [check] = summarise(claims, kowDefs, 31).find((m) => m.metric === 'killed_or_wounded')!.checks;
    // [0 + 50, 30 + 50] = [50, 80]; 100 − 80 = 20.
    expect(check).toMatchObject({
      sum: { low: 50, high: 80 },
      against: { low: 100, high: 100 },
      status: 'gap',
      gap: 20,
      direction: 'below',
    });
  });

  it('claims describing times further apart than the tolerance are no check: the pair counts as unaligned', () => {
    const claims = [
      claim('killed', 'a', { kind: 'exact', value: 100 }, { statedAt: '2025-01' }),
      claim('wounded', 'a', { kind: 'exact', value: 200 }, { statedAt: '2025-01' }),
      claim('killed_or_wounded', 'b', { kind: 'exact', value: 1000 }, { statedAt: '2025-04' }),
    ];
    const m = summarise(claims, kowDefs, 31).find((x) => x.metric === 'killed_or_wounded')!;
    // Ends: 2025-02-01 and 2025-05-01 → 89 days apart (28 + 31 + 30) > 31.
    expect(m.checks).toEqual([]);
    expect(m.unaligned).toBe(1);
    expect(m.sourcePairs).toEqual([
      { componentSource: { id: 'a' }, compositeSource: { id: 'b' }, checks: 0, unaligned: 1 },
    ]);
    // With a tolerance of 90 days the same claims are compared: 1000 − 300 = 700.
    const wide = summarise(claims, kowDefs, 90).find((x) => x.metric === 'killed_or_wounded')!;
    expect(wide.checks[0]).toMatchObject({ status: 'gap', gap: 700, validSpreadDays: 89 });
    expect(wide.unaligned).toBe(0);
  });

  it('a source lacking a component is not summed', () => {
    const claims = [
      claim('killed', 'a', { kind: 'exact', value: 100 }),
      claim('killed_or_wounded', 'b', { kind: 'exact', value: 1000 }),
    ];
    expect(summarise(claims, kowDefs, 31).find((x) => x.metric === 'killed_or_wounded')!.checks).toEqual([]);
  });

  it('an incremental figure never joins a cumulative sum', () => {
    const defs: MetricDef[] = [
      ...DEMO_DEFS.filter((d) => d.metric !== 'deployed'),
      {
        metric: 'deployed',
        label: 'Troops deployed',
        unit: 'persons',
        aggregation: 'cumulative',
        composedOf: ['deployed_initial', 'reinforcements'],
      },
      {
        metric: 'deployed_initial',
        label: 'First deployment',
        unit: 'persons',
        aggregation: 'cumulative',
        composedOf: null,
      },
    ];
    const claims = [
      claim('deployed_initial', 'a', { kind: 'exact', value: 11000 }),
      claim('reinforcements', 'a', { kind: 'range', low: 1000, high: 3000 }),
      claim('deployed', 'b', { kind: 'exact', value: 14000 }),
    ];
    const m = summarise(claims, defs, 31).find((x) => x.metric === 'deployed')!;
    expect(m.checks).toEqual([]);
    expect(m.skipped).toEqual([
      {
        reason:
          'reinforcements is incremental but deployed is cumulative: an incremental figure never joins a cumulative sum',
      },
    ]);
  });

  it('pairs each composite with the parts nearest its time, never a retracted one', () => {
    const claims = [
      ...standing(
        claim('killed', 'a', { kind: 'exact', value: 150 }, { statedAt: '2025-02' }),
        claim('killed', 'a', { kind: 'exact', value: 100 }, { statedAt: '2025-01' }),
        claim('killed', 'a', { kind: 'exact', value: 9999 }, { statedAt: '2025-03', status: 'retracted' }),
      ),
      claim('wounded', 'a', { kind: 'exact', value: 300 }, { statedAt: '2025-02' }),
      claim('killed_or_wounded', 'a', { kind: 'exact', value: 450 }, { statedAt: '2025-02' }),
    ];
    const m = summarise(claims, kowDefs, 31).find((x) => x.metric === 'killed_or_wounded')!;
    // February's 150 + 300 = 450: consistent. January's 100 ends 28 days earlier (within the
    // tolerance) but further from the total; the retracted 9999 never counts.
    expect(m.checks.map((c) => [c.status, c.sum, c.componentClaims.map((p) => p.statedAt)])).toEqual([
      ['consistent', { low: 450, high: 450 }, ['2025-02', '2025-02']],
    ]);
  });
});

describe('checks paired in time', () => {
  const kow = (claims: SummaryClaim[], tolerance = 31) =>
    summarise(claims, DEMO_DEFS, tolerance).find((m) => m.metric === 'killed_or_wounded')!;

  it('checks every composite claim, superseded ones too: a split 11 days from an old total is compared', () => {
    const [newTotal, oldTotal] = standing(
      claim('killed_or_wounded', 'ministry', { kind: 'exact', value: 9000 }, { statedAt: '2025-03-20' }),
      claim('killed_or_wounded', 'ministry', { kind: 'exact', value: 3000 }, { statedAt: '2024-03-20' }),
    ) as [SummaryClaim, SummaryClaim];
    const claims = [
      newTotal,
      oldTotal,
      claim('killed', 'leak', { kind: 'exact', value: 1000 }, { statedAt: '2024-03-09', reportId: 'rpt_leak' }),
      claim('wounded', 'leak', { kind: 'exact', value: 2500 }, { statedAt: '2024-03-09', reportId: 'rpt_leak' }),
    ];
    const m = kow(claims);
    // The leak's 1000 + 2500 = 3500 against the ministry's 3000 stated 11 days later: 500 above.
    // The ministry's newer 9000, a year on, is no check: one unaligned pair.
    expect(
      m.checks.map((c) => [c.compositeClaim.claimId, c.status, c.sum, c.gap, c.direction, c.validSpreadDays]),
    ).toEqual([[oldTotal.claimId, 'gap', { low: 3500, high: 3500 }, 500, 'above', 11]]);
    expect(m.checks[0]).toMatchObject({ sameReport: true, complete: true, exceeding: [] });
    expect(m.unaligned).toBe(1);
    expect(m.sourcePairs).toEqual([
      { componentSource: { id: 'leak' }, compositeSource: { id: 'ministry' }, checks: 1, unaligned: 1 },
    ]);
  });

  it('never sums a September killed and a March wounded into a figure the source never stated', () => {
    const claims = [
      claim('killed', 'a', { kind: 'exact', value: 2000 }, { statedAt: '2025-09-15' }),
      claim('wounded', 'a', { kind: 'exact', value: 3000 }, { statedAt: '2025-03-15' }),
      claim('killed_or_wounded', 'b', { kind: 'exact', value: 5000 }, { statedAt: '2025-09-20' }),
      claim('killed_or_wounded', 'b', { kind: 'exact', value: 4000 }, { statedAt: '2025-03-20' }),
    ];
    const m = kow(claims);
    // Neither total has both parts within 31 days: no check, two unaligned pairs.
    expect(m.checks).toEqual([]);
    expect(m.unaligned).toBe(2);
  });

  it('parts must lie within the tolerance of each other too, not only of the total', () => {
    const claims = [
      // Each part 20 days from the total, but 40 days from each other.
      claim('killed', 'a', { kind: 'exact', value: 100 }, { statedAt: '2025-03-01' }),
      claim('wounded', 'a', { kind: 'exact', value: 200 }, { statedAt: '2025-04-10' }),
      claim('killed_or_wounded', 'b', { kind: 'exact', value: 300 }, { statedAt: '2025-03-21' }),
    ];
    expect(kow(claims)).toMatchObject({ checks: [], unaligned: 1 });
  });

  it('finds the set that aligns when the parts nearest the total do not', () => {
    const claims = [
      claim('killed', 'a', { kind: 'exact', value: 100 }, { statedAt: '2025-03-01' }),
      // Nearest the total (03-21): 04-05, 15 days after it, but 35 days after killed's 03-01.
      claim('wounded', 'a', { kind: 'exact', value: 999 }, { statedAt: '2025-04-05' }),
      // 24 days before the total, 4 days before killed: the set 02-25, 03-01, 03-21 spans 24 days.
      claim('wounded', 'a', { kind: 'exact', value: 200 }, { statedAt: '2025-02-25' }),
      claim('killed_or_wounded', 'b', { kind: 'exact', value: 300 }, { statedAt: '2025-03-21' }),
    ];
    const m = kow(claims);
    expect(m.checks.map((c) => [c.status, c.sum, c.validSpreadDays, c.sameReport])).toEqual([
      ['consistent', { low: 300, high: 300 }, 24, false],
    ]);
    expect(m.unaligned).toBe(0);
  });

  it('prefers parts stated in one report to nearer parts stated apart', () => {
    const claims = [
      claim('killed', 'a', { kind: 'exact', value: 100 }, { statedAt: '2025-03-10', reportId: 'rpt_one' }),
      claim('wounded', 'a', { kind: 'exact', value: 200 }, { statedAt: '2025-03-10', reportId: 'rpt_one' }),
      claim('wounded', 'a', { kind: 'exact', value: 900 }, { statedAt: '2025-03-20', reportId: 'rpt_other' }),
      claim('killed_or_wounded', 'b', { kind: 'exact', value: 300 }, { statedAt: '2025-03-20' }),
    ];
    const [check] = kow(claims).checks;
    // rpt_one's 100 + 200 = 300, though the 900 of another report is nearer the total in time.
    expect(check).toMatchObject({ sameReport: true, status: 'consistent', sum: { low: 300, high: 300 } });
  });

  it('a part whose low exceeds the aligned total is part_exceeds_total, with its sum and gap', () => {
    const claims = [
      claim('killed', 'a', { kind: 'at_least', value: 1500 }, { statedAt: '2025-03-10' }),
      claim('wounded', 'a', { kind: 'exact', value: 200 }, { statedAt: '2025-03-10' }),
      claim('killed_or_wounded', 'b', { kind: 'approx', value: 1000 }, { statedAt: '2025-03-12' }),
    ];
    const [check] = kow(claims).checks;
    // "at least 1,500" killed against "about 1,000" killed or wounded ([950, 1050]): 1500 > 1050.
    // Sum [1700, ∞) lies 1700 − 1050 = 650 above.
    expect(check).toMatchObject({
      status: 'part_exceeds_total',
      complete: true,
      exceeding: [claims[0]!.claimId],
      sum: { low: 1700, high: null },
      against: { low: 950, high: 1050 },
      gap: 650,
      direction: 'above',
    });
    expect(check!.detail).toBe(
      "a's killed alone is at least 1500, above b's killed_or_wounded = [950, 1050]: a part exceeds the total",
    );
  });

  it('a lone part above an aligned total is a check even when the other part does not align', () => {
    const claims = [
      claim('killed', 'a', { kind: 'exact', value: 5000 }, { statedAt: '2025-03-10' }),
      claim('wounded', 'a', { kind: 'exact', value: 100 }, { statedAt: '2024-06-10' }),
      // c states killed only: never summed, but above the total too.
      claim('killed', 'c', { kind: 'exact', value: 4000 }, { statedAt: '2025-03-01' }),
      claim('killed_or_wounded', 'b', { kind: 'exact', value: 3000 }, { statedAt: '2025-03-12' }),
    ];
    const m = kow(claims);
    expect(
      m.checks.map((c) => [c.componentSource.id, c.status, c.complete, c.componentClaims.map((p) => p.metric), c.gap]),
    ).toEqual([
      ['a', 'part_exceeds_total', false, ['killed'], 2000],
      ['c', 'part_exceeds_total', false, ['killed'], 1000],
    ]);
    // a states every part, and its pair with b's total is a check: nothing unaligned.
    expect(m.unaligned).toBe(0);
  });

  it('an incremental composite pairs figures whose periods agree at both ends', () => {
    const defs: MetricDef[] = [
      { metric: 'sent', label: 'Sent', unit: 'persons', aggregation: 'incremental', composedOf: ['sent_a', 'sent_b'] },
      { metric: 'sent_a', label: 'A', unit: 'persons', aggregation: 'incremental', composedOf: null },
      { metric: 'sent_b', label: 'B', unit: 'persons', aggregation: 'incremental', composedOf: null },
    ];
    const claims = [
      claim(
        'sent_a',
        'x',
        { kind: 'exact', value: 10 },
        { statedAt: '2025-03', validFrom: '2025-01', validTo: '2025-03' },
      ),
      claim(
        'sent_b',
        'x',
        { kind: 'exact', value: 20 },
        { statedAt: '2025-03', validFrom: '2025-03', validTo: '2025-03' },
      ),
      claim(
        'sent_b',
        'x',
        { kind: 'exact', value: 5 },
        { statedAt: '2025-03', validFrom: '2025-01', validTo: '2025-03' },
      ),
      claim(
        'sent',
        'y',
        { kind: 'exact', value: 15 },
        { statedAt: '2025-03', validFrom: '2025-01', validTo: '2025-03' },
      ),
    ];
    const m = summarise(claims, defs, 31).find((x) => x.metric === 'sent')!;
    // Only B's January–March 5 shares A's period: 10 + 5 = 15; March's 20 starts 59 days later.
    expect(m.checks.map((c) => [c.status, c.sum])).toEqual([['consistent', { low: 15, high: 15 }]]);
  });
});

describe('what never pairs', () => {
  it('a retracted total is not checked, a retracted part not summed, a part in another unit skipped', () => {
    const claims = [
      claim('killed', 'a', { kind: 'exact', value: 100 }, { statedAt: '2025-03-10' }),
      claim('wounded', 'a', { kind: 'exact', value: 200 }, { statedAt: '2025-03-10' }),
      claim('wounded', 'a', { kind: 'exact', value: 900 }, { statedAt: '2025-03-12', status: 'retracted' }),
      claim('killed_or_wounded', 'b', { kind: 'exact', value: 300 }, { statedAt: '2025-03-12' }),
      claim('killed_or_wounded', 'b', { kind: 'exact', value: 5 }, { statedAt: '2025-03-11', status: 'retracted' }),
      claim('killed', 'c', { kind: 'exact', value: 100 }, { statedAt: '2025-03-10', unit: 'tonnes' }),
      claim('wounded', 'c', { kind: 'exact', value: 200 }, { statedAt: '2025-03-10' }),
    ];
    const m = summarise(claims, DEMO_DEFS, 31).find((x) => x.metric === 'killed_or_wounded')!;
    // 100 + 200 = 300 against b's 300; the retracted 900 and 5 never count; c's killed is in tonnes.
    expect(m.checks.map((c) => [c.componentSource.id, c.status, c.sum])).toEqual([
      ['a', 'consistent', { low: 300, high: 300 }],
    ]);
    expect(m.skipped).toEqual([{ reason: "c's killed claims are not in persons: not compared" }]);
    expect(m.unaligned).toBe(0);
  });
});

describe('conflicts', () => {
  it('pairs sources whose aligned claims do not overlap, the lower one first, with the gap and days', () => {
    const claims = [
      claim('killed', 'ua', { kind: 'approx', value: 4000 }, { statedAt: '2025-03-01' }),
      claim('killed', 'kr', { kind: 'range', low: 1000, high: 2000 }, { statedAt: '2025-03-11' }),
      // us overlaps kr ([1900, 2100]): no conflict between them; it lies 1700 below ua's [3800, 4200].
      claim('killed', 'us', { kind: 'approx', value: 2000 }, { statedAt: '2025-03-05' }),
      // A year earlier: aligned with nothing.
      claim('killed', 'ru', { kind: 'exact', value: 10 }, { statedAt: '2024-03-05' }),
      claim('killed', 'kr', { kind: 'exact', value: 99999 }, { statedAt: '2025-03-12', status: 'retracted' }),
    ];
    const m = summarise(claims, DEMO_DEFS, 31).find((x) => x.metric === 'killed')!;
    expect(m.conflicts.map((c) => [c.a.source.id, c.b.source.id, c.gap, c.days])).toEqual([
      // kr's [1000, 2000] and ua's [3800, 4200], 10 days apart: 3800 − 2000 = 1800.
      ['kr', 'ua', 1800, 10],
      // us's [1900, 2100] and ua's, 4 days apart: 3800 − 2100 = 1700.
      ['us', 'ua', 1700, 4],
    ]);
    expect(m.conflicts[0]!.a).toMatchObject({ claimId: claims[1]!.claimId, metric: 'killed', low: 1000, high: 2000 });
    expect(m.conflictsLeftOff).toBe(0);
  });

  it('pairs each claim with the other source’s claim nearest it in time', () => {
    const claims = [
      claim('killed', 'a', { kind: 'exact', value: 100 }, { statedAt: '2025-03-01' }),
      claim('killed', 'b', { kind: 'exact', value: 100 }, { statedAt: '2025-03-02' }),
      claim('killed', 'b', { kind: 'exact', value: 500 }, { statedAt: '2025-03-20' }),
      claim('killed', 'a', { kind: 'exact', value: 500 }, { statedAt: '2025-03-21' }),
    ];
    // Each figure agrees with the other source's nearest one; the 100 and 500 19 days apart are not paired.
    expect(summarise(claims, DEMO_DEFS, 31)[0]!.conflicts).toEqual([]);
  });
});

describe('latest per source', () => {
  it('takes the newest stated non-retracted figure and the one before it, with the change', () => {
    const claims = [
      ...standing(
        claim('killed', 'a', { kind: 'range', low: 400, high: 600 }, { statedAt: '2025-03' }),
        claim('killed', 'a', { kind: 'approx', value: 300 }, { statedAt: '2025-01' }),
        claim('killed', 'a', { kind: 'exact', value: 1 }, { statedAt: '2025-04', status: 'retracted' }),
      ),
      claim('killed', 'b', { kind: 'at_least', value: 700 }, { statedAt: '2025-02' }),
    ];
    const latest = latestPerSource(claims).get('killed')!;
    expect(latest.map((e) => [e.claim.source.id, e.claim.statedAt, e.previous?.statedAt])).toEqual([
      ['a', '2025-03', '2025-01'],
      ['b', '2025-02', undefined],
    ]);
    const m = summarise(claims, DEMO_DEFS, 31)[0]!;
    // Centre of [400, 600] is 500; the previous best was 300: +200.
    expect(m.latest[0]).toMatchObject({
      statedAt: '2025-03',
      change: 200,
      previous: { statedAt: '2025-01', best: 300 },
    });
    // [400, 600] ∪ [700, ∞) → minLow 400, open above.
    expect(m.envelope).toEqual({ minLow: 400, maxHigh: null, sources: 2 });
  });

  it('takes the claim that stands as the rows say, whatever their order or seq', () => {
    // "at least 50,000" recorded first, the exact 50,021 of the same day after it: the exact stands.
    const [exact, atLeast] = standing(
      claim('killed', 'a', { kind: 'exact', value: 50021 }),
      claim('killed', 'a', { kind: 'at_least', value: 50000 }),
    ) as [SummaryClaim, SummaryClaim];
    const [e] = latestPerSource([
      { ...atLeast, seq: 1 },
      { ...exact, seq: 2 },
    ]).get('killed')!;
    expect([e!.claim.claimId, e!.previous?.claimId]).toEqual([exact.claimId, atLeast.claimId]);
  });

  it('an incremental metric: the latest period’s standing claim, and before it only its own period’s', () => {
    const oct = claim(
      'reinforcements',
      'a',
      { kind: 'approx', value: 1500 },
      { validFrom: '2024-10', validTo: '2024-10' },
    );
    const [nov, novBefore] = standing(
      claim('reinforcements', 'a', { kind: 'exact', value: 1500 }, { validFrom: '2024-11', validTo: '2024-11' }),
      claim(
        'reinforcements',
        'a',
        { kind: 'range', low: 1000, high: 2000 },
        { validFrom: '2024-11', validTo: '2024-11' },
      ),
    ) as [SummaryClaim, SummaryClaim];
    const [e] = latestPerSource([oct, novBefore, nov]).get('reinforcements')!;
    expect([e!.claim.claimId, e!.previous?.claimId]).toEqual([nov.claimId, novBefore.claimId]);
  });

  it('a metric whose every claim is retracted has no latest figure and no envelope', () => {
    const m = summarise(
      [claim('killed', 'a', { kind: 'exact', value: 10 }, { status: 'retracted' })],
      DEMO_DEFS,
      31,
    )[0]!;
    expect(m.latest).toEqual([]);
    expect(m.envelope).toBeNull();
    expect(envelopeOf([])).toBeNull();
  });
});

describe('valid-time spread', () => {
  it('compares only the ends for cumulative figures, both ends for incremental ones', () => {
    const a = claim('x', 'a', { kind: 'exact', value: 1 }, { validFrom: '2024-10', validTo: '2025-01' });
    const b = claim('x', 'b', { kind: 'exact', value: 1 }, { validFrom: '2025-01', validTo: '2025-01' });
    expect(validSpreadDays([a, b], 'cumulative')).toBe(0);
    // Starts 2024-10-01 and 2025-01-01: 31 + 30 + 31 = 92 days.
    expect(validSpreadDays([a, b], 'incremental')).toBe(92);
  });
});

describe('bounds on a dense topic', () => {
  it('lists the newest 1,000 checks and conflicts, counts the rest, and stops pairing at the budget', () => {
    // 100 sources each stating killed, wounded and their total every 9 days for a year: every
    // composite claim has about 100 sources stating parts within 31 days of it.
    const claims: SummaryClaim[] = [];
    for (let s = 0; s < 100; s++)
      for (let i = 0; i < 40; i++) {
        const day = new Date(Date.UTC(2025, 0, 1 + i * 9 + (s % 9))).toISOString().slice(0, 10);
        for (const [metric, value] of [
          ['killed', 100 + s],
          ['wounded', 200 + s],
          ['killed_or_wounded', 300 + 3 * s],
        ] as const)
          claims.push(
            claim(
              metric,
              `s${String(s).padStart(3, '0')}`,
              { kind: 'exact', value },
              { statedAt: day, reportId: `r${s}-${i}` },
            ),
          );
      }
    const started = performance.now();
    const metrics = summarise(claims, DEMO_DEFS, 31);
    const elapsed = performance.now() - started;
    const kow = metrics.find((m) => m.metric === 'killed_or_wounded')!;
    expect(kow.checks).toHaveLength(SUMMARY_LIST_LIMITS.checks);
    expect(kow.checksLeftOff).toBeGreaterThan(0);
    // 4,000 composite claims × about 100 sources each is past the budget of pairs: the oldest are not paired.
    expect(kow.compositesNotPaired).toBeGreaterThan(0);
    expect(kow.compositesNotPaired).toBeLessThan(4000);
    // The newest composite claim's checks are listed.
    const newestEnd = Math.max(...claims.filter((c) => c.metric === 'killed_or_wounded').map((c) => c.validToAt));
    expect(kow.checks.some((c) => ms(`${c.compositeClaim.validTo}T00:00:00Z`) + 86_400_000 === newestEnd)).toBe(true);
    const killed = metrics.find((m) => m.metric === 'killed')!;
    expect(killed.conflicts).toHaveLength(SUMMARY_LIST_LIMITS.conflicts);
    expect(killed.conflictsLeftOff).toBeGreaterThan(0);
    // Bounded work, generous for a shared machine: a second and a half for three metrics.
    expect(elapsed).toBeLessThan(1500 * 3);
  });
});
