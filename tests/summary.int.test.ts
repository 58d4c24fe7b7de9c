// GET /v1/topics/{topic}/summary, /timeline and the live feed against real NATS and Postgres.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProduct, type Product } from './helpers/product.ts';

const TOPIC = 'dprk-troops-in-russia';
let p: Product;
let stopped = false;

type Check = {
  compositeSource: { id: string };
  componentSource: { id: string };
  compositeClaim: { claimId: string };
  componentClaims: { claimId: string; metric: string }[];
  status: string;
  gap: number | null;
  direction: string | null;
  sum: unknown;
  against: unknown;
  validSpreadDays: number;
  complete: boolean;
  sameReport: boolean;
  exceeding: string[];
};
type Ref = { claimId: string; source: { id: string }; low: number | null; high: number | null };
type Metric = {
  metric: string;
  aggregation: string | null;
  latest: { source: { id: string }; best: number | null; change?: number | null; previous?: { best: number | null } }[];
  envelope: unknown;
  checks: Check[];
  unaligned: number;
  sourcePairs: {
    componentSource: { id: string };
    compositeSource: { id: string };
    checks: number;
    unaligned: number;
  }[];
  skipped: { reason: string }[];
  conflicts: { a: Ref; b: Ref; gap: number; days: number }[];
};

const metricOf = (body: { metrics: Metric[] }, name: string) => body.metrics.find((m) => m.metric === name)!;
const claim = (over: Record<string, unknown>) => ({
  topic: 'sum-test',
  metric: 'killed',
  value: { kind: 'exact', value: 100 },
  source: { id: 'src-a' },
  statedAt: '2025-01',
  ...over,
});
async function post(url: string, claims: Record<string, unknown>[], o: { publishedAt?: string; kind?: string } = {}) {
  const r = await p.post('/v1/reports', {
    report: { url, publisher: 'P', publishedAt: o.publishedAt ?? '2025-03-01', ...(o.kind ? { kind: o.kind } : {}) },
    claims,
  });
  expect(r.status).toBe(202);
  return r.body as { lastSeq: number; claims: { claimId: string; seq: number }[] };
}

// The article claimtrail started from, alone (the demo posts later reports too): its figures are
// the ones these checks are worked out by hand for.
beforeAll(async () => {
  p = await startProduct('summary');
  const demo = (file: string) => readFile(new URL(`../demo/${file}`, import.meta.url), 'utf8');
  for (const m of JSON.parse(await demo('metrics.json')) as unknown[])
    expect((await p.post('/v1/metrics', m)).status).toBe(202);
  const seed = await p.post('/v1/reports', await demo('nk-troops-russia.report.json'));
  expect(seed.status).toBe(202);
  await p.get(`/v1/topics?minSeq=${(seed.body as { lastSeq: number }).lastSeq}`);
});
afterAll(async () => {
  if (!stopped) await p?.stop();
});

describe('summary of the seed article', () => {
  it('gives the NIS parts against the Ukrainian president a gap of 785; its wounded alone exceed the US total', async () => {
    const s = await p.get(`/v1/topics/${TOPIC}/summary`);
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ topic: TOPIC, alignToleranceDays: 31 });
    expect(s.body.asOfSeq).toBeGreaterThan(0);
    expect(s.body.metrics.map((m: Metric) => m.metric)).toEqual([
      'deployed',
      'killed',
      'killed_or_wounded',
      'reinforcements',
      'wounded',
    ]);
    const kow = metricOf(s.body, 'killed_or_wounded');
    expect(kow.envelope).toEqual({ minLow: 1140, maxHigh: 4200, sources: 2 });
    expect(
      kow.checks.map((c) => [c.componentSource.id, c.compositeSource.id, c.status, c.gap, c.sum, c.against]),
    ).toEqual([
      ['kr-nis', 'ua-president', 'gap', 785, { low: 2985, high: 3015 }, { low: 3800, high: 4200 }],
      ['kr-nis', 'us-government', 'part_exceeds_total', 1725, { low: 2985, high: 3015 }, { low: 1140, high: 1260 }],
    ]);
    // The NIS's 2,700 wounded alone lie above the US's [1,140, 1,260].
    const us = kow.checks[1]!;
    expect(us.exceeding).toEqual([us.componentClaims.find((c) => c.metric === 'wounded')!.claimId]);
    // Both parts come from the one seed article.
    expect(kow.checks.map((c) => [c.sameReport, c.complete])).toEqual([
      [true, true],
      [true, true],
    ]);
    expect(kow.unaligned).toBe(0);
    // The two totals, both of January, do not overlap: the US's [1,140, 1,260] lies 2,540 below [3,800, 4,200].
    expect(kow.conflicts.map((c) => [c.a.source.id, c.b.source.id, c.gap, c.days])).toEqual([
      ['us-government', 'ua-president', 2540, 0],
    ]);
    expect(metricOf(s.body, 'reinforcements')).toMatchObject({ aggregation: 'incremental', checks: [] });
  });

  it('knows nothing before anything was recorded: the topic was unknown then, 404', async () => {
    const s = await p.get(`/v1/topics/${TOPIC}/summary?knownAt=2020-01-01T00:00:00Z`);
    expect(s.status).toBe(404);
    expect(s.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(s.body.detail).toMatch(/^topic dprk-troops-in-russia is unknown at 2020-01-01T00:00:00.000Z/);
  });

  it('rejects a bad knownAt and an unknown parameter with problem+json', async () => {
    expect((await p.get(`/v1/topics/${TOPIC}/summary?knownAt=yesterday`)).status).toBe(400);
    expect((await p.get(`/v1/topics/${TOPIC}/summary?colour=red`)).status).toBe(400);
    expect((await p.get(`/v1/topics/Not_A_Slug/summary`)).status).toBe(400);
  });
});

describe('summary over time', () => {
  it('follows corrections, keeps the past at knownAt, and reports the change from the previous figure', async () => {
    const first = await post('https://x.org/s1', [
      claim({}),
      claim({ metric: 'wounded', value: { kind: 'exact', value: 200 } }),
      claim({ metric: 'killed_or_wounded', source: { id: 'src-b' }, value: { kind: 'exact', value: 300 } }),
    ]);
    await p.get(`/v1/topics?minSeq=${first.lastSeq}`);
    const before = (await p.get('/v1/topics/sum-test/summary')).body;
    // 100 + 200 = 300 against 300: consistent.
    expect(metricOf(before, 'killed_or_wounded').checks.map((c) => [c.status, c.gap])).toEqual([['consistent', null]]);
    await new Promise((r) => setTimeout(r, 10));

    const corrected = await p.post(`/v1/claims/${first.claims[0]!.claimId}/corrections`, {
      changes: { value: { kind: 'exact', value: 150 } },
      reason: 'typo',
    });
    expect(corrected.status).toBe(202);
    const after = await p.get(`/v1/topics/sum-test/summary?minSeq=${corrected.body.seq}`);
    expect(after.body.asOfSeq).toBeGreaterThanOrEqual(corrected.body.seq);
    // 150 + 200 = 350 against 300: a gap of 50, the sum above.
    expect(metricOf(after.body, 'killed_or_wounded').checks.map((c) => [c.status, c.gap])).toEqual([['gap', 50]]);
    const past = await p.get(`/v1/topics/sum-test/summary?knownAt=${encodeURIComponent(before.knownAt)}`);
    expect(metricOf(past.body, 'killed').latest[0]!.best).toBe(100);

    const later = await post('https://x.org/s2', [
      claim({ statedAt: '2025-02', value: { kind: 'approx', value: 400 } }),
    ]);
    const s = await p.get(`/v1/topics/sum-test/summary?minSeq=${later.lastSeq}`);
    // 400 − 150 = +250 from the previous figure.
    expect(metricOf(s.body, 'killed').latest[0]).toMatchObject({ best: 400, previous: { best: 150 }, change: 250 });
  });

  it('makes no check of claims describing times further apart than the tolerance: it counts them', async () => {
    const r = await post('https://x.org/s3', [
      claim({ topic: 'align-test', source: { id: 'early' }, statedAt: '2024-06' }),
      claim({ topic: 'align-test', metric: 'wounded', source: { id: 'early' }, statedAt: '2024-06' }),
      claim({
        topic: 'align-test',
        metric: 'killed_or_wounded',
        source: { id: 'late' },
        statedAt: '2025-01',
        value: { kind: 'exact', value: 5000 },
      }),
    ]);
    const s = await p.get(`/v1/topics/align-test/summary?minSeq=${r.lastSeq}`);
    // Ends 2024-07-01 and 2025-02-01: 215 days apart.
    expect(metricOf(s.body, 'killed_or_wounded')).toMatchObject({
      checks: [],
      unaligned: 1,
      sourcePairs: [{ componentSource: { id: 'early' }, compositeSource: { id: 'late' }, checks: 0, unaligned: 1 }],
    });
  });

  it('checks a leaked split against the total stated 11 days later, though a newer total came a year on', async () => {
    const t = 'leak-test';
    const leak = await post(
      'https://x.org/leak',
      [
        claim({ topic: t, source: { id: 'leak-doc' }, statedAt: '2024-03-09', value: { kind: 'exact', value: 1000 } }),
        claim({
          topic: t,
          metric: 'wounded',
          source: { id: 'leak-doc' },
          statedAt: '2024-03-09',
          value: { kind: 'exact', value: 2500 },
        }),
      ],
      { publishedAt: '2024-03-09', kind: 'leaked_document' },
    );
    const old = await post(
      'https://x.org/ministry-2024',
      [
        claim({
          topic: t,
          metric: 'killed_or_wounded',
          source: { id: 'ministry' },
          statedAt: '2024-03-20',
          value: { kind: 'exact', value: 3000 },
        }),
      ],
      { publishedAt: '2024-03-20' },
    );
    const before = await p.get(`/v1/topics/${t}/summary?minSeq=${old.lastSeq}`);
    await new Promise((r) => setTimeout(r, 10));
    const newer = await post(
      'https://x.org/ministry-2025',
      [
        claim({
          topic: t,
          metric: 'killed_or_wounded',
          source: { id: 'ministry' },
          statedAt: '2025-03-20',
          value: { kind: 'exact', value: 9000 },
        }),
      ],
      { publishedAt: '2025-03-20' },
    );
    const s = await p.get(`/v1/topics/${t}/summary?minSeq=${newer.lastSeq}`);
    const kow = metricOf(s.body, 'killed_or_wounded');
    // The ministry's latest figure is the 9,000; its 3,000 of 2024 is still checked.
    expect(kow.latest.map((l) => [l.source.id, l.best])).toEqual([['ministry', 9000]]);
    // 1,000 + 2,500 = 3,500 against 3,000 stated 11 days later: 500 above.
    expect(
      kow.checks.map((c) => [
        c.compositeClaim.claimId,
        c.status,
        c.sum,
        c.gap,
        c.direction,
        c.validSpreadDays,
        c.sameReport,
      ]),
    ).toEqual([[old.claims[0]!.claimId, 'gap', { low: 3500, high: 3500 }, 500, 'above', 11, true]]);
    expect(kow.checks[0]!.componentClaims.map((c) => c.claimId)).toEqual(leak.claims.map((c) => c.claimId));
    // The 9,000, a year after the leak: one pair that does not align.
    expect(kow.unaligned).toBe(1);
    expect(kow.sourcePairs).toEqual([
      {
        componentSource: { id: 'leak-doc' },
        compositeSource: { id: 'ministry' },
        checks: 1,
        unaligned: 1,
      },
    ]);
    // Known before the newer total: the same check, nothing unaligned.
    const past = await p.get(`/v1/topics/${t}/summary?knownAt=${encodeURIComponent(before.body.knownAt)}`);
    const pastKow = metricOf(past.body, 'killed_or_wounded');
    expect(pastKow.checks.map((c) => [c.compositeClaim.claimId, c.gap])).toEqual([[old.claims[0]!.claimId, 500]]);
    expect(pastKow.unaligned).toBe(0);
  });

  it('never sums a source’s September killed and March wounded into a figure it never stated', async () => {
    const t = 'split-test';
    await post('https://x.org/split-sep', [
      claim({ topic: t, source: { id: 'split' }, statedAt: '2025-09-15', value: { kind: 'exact', value: 2000 } }),
    ]);
    await post('https://x.org/split-mar', [
      claim({
        topic: t,
        metric: 'wounded',
        source: { id: 'split' },
        statedAt: '2025-03-15',
        value: { kind: 'exact', value: 3000 },
      }),
    ]);
    const r = await post('https://x.org/split-totals', [
      claim({
        topic: t,
        metric: 'killed_or_wounded',
        source: { id: 'other' },
        statedAt: '2025-09-20',
        value: { kind: 'exact', value: 5000 },
      }),
      claim({
        topic: t,
        metric: 'killed_or_wounded',
        source: { id: 'other' },
        statedAt: '2025-03-20',
        value: { kind: 'exact', value: 4000 },
      }),
    ]);
    const s = await p.get(`/v1/topics/${t}/summary?minSeq=${r.lastSeq}`);
    // September's total has no wounded within 31 days, March's no killed: two pairs, no check.
    expect(metricOf(s.body, 'killed_or_wounded')).toMatchObject({
      checks: [],
      unaligned: 2,
      sourcePairs: [{ componentSource: { id: 'split' }, compositeSource: { id: 'other' }, checks: 0, unaligned: 2 }],
    });
  });

  it('calls a part whose low exceeds the aligned total part_exceeds_total', async () => {
    const t = 'exceeds-test';
    const parts = await post('https://x.org/exceeds-parts', [
      claim({ topic: t, source: { id: 'parts' }, statedAt: '2025-03-10', value: { kind: 'at_least', value: 1500 } }),
      claim({
        topic: t,
        metric: 'wounded',
        source: { id: 'parts' },
        statedAt: '2025-03-10',
        value: { kind: 'exact', value: 200 },
      }),
    ]);
    const r = await post('https://x.org/exceeds-total', [
      claim({
        topic: t,
        metric: 'killed_or_wounded',
        source: { id: 'total' },
        statedAt: '2025-03-12',
        value: { kind: 'approx', value: 1000 },
      }),
    ]);
    const s = await p.get(`/v1/topics/${t}/summary?minSeq=${r.lastSeq}`);
    // "at least 1,500" killed against "about 1,000" ([950, 1,050]); the sum [1,700, ∞) lies 650 above.
    const [check] = metricOf(s.body, 'killed_or_wounded').checks;
    expect(check).toMatchObject({
      status: 'part_exceeds_total',
      exceeding: [parts.claims[0]!.claimId],
      sum: { low: 1700, high: null },
      against: { low: 950, high: 1050 },
      gap: 650,
      direction: 'above',
      validSpreadDays: 2,
    });
  });

  it('lists conflicts: sources whose aligned claims do not overlap, with the gap and the days between', async () => {
    const t = 'conflict-test';
    const ua = await post('https://x.org/c-ua', [
      claim({ topic: t, source: { id: 'ua' }, statedAt: '2025-03-01', value: { kind: 'approx', value: 4000 } }),
    ]);
    const onlyUa = await p.get(`/v1/topics/${t}/summary?minSeq=${ua.lastSeq}`);
    await new Promise((r) => setTimeout(r, 10));
    const rest = await post('https://x.org/c-rest', [
      claim({
        topic: t,
        source: { id: 'kr' },
        statedAt: '2025-03-11',
        value: { kind: 'range', low: 1000, high: 2000 },
      }),
      claim({ topic: t, source: { id: 'us' }, statedAt: '2025-03-05', value: { kind: 'approx', value: 2000 } }),
      claim({ topic: t, source: { id: 'ru' }, statedAt: '2024-03-05', value: { kind: 'exact', value: 10 } }),
    ]);
    const s = await p.get(`/v1/topics/${t}/summary?minSeq=${rest.lastSeq}`);
    const killed = metricOf(s.body, 'killed');
    // kr's [1,000, 2,000] and ua's [3,800, 4,200], 10 days apart: 1,800. us's [1,900, 2,100] overlaps
    // kr's and lies 1,700 below ua's, 4 days apart. ru's figure, a year earlier, aligns with nothing.
    expect(killed.conflicts.map((c) => [c.a.source.id, c.b.source.id, c.gap, c.days])).toEqual([
      ['kr', 'ua', 1800, 10],
      ['us', 'ua', 1700, 4],
    ]);
    expect(killed.conflicts[0]!.a).toMatchObject({ claimId: rest.claims[0]!.claimId, low: 1000, high: 2000 });
    expect(killed.conflicts[0]!.b).toMatchObject({ claimId: ua.claims[0]!.claimId, low: 3800, high: 4200 });
    // Known when only the Ukrainian figure was recorded: no conflict.
    const past = await p.get(`/v1/topics/${t}/summary?knownAt=${encodeURIComponent(onlyUa.body.knownAt)}`);
    expect(metricOf(past.body, 'killed').conflicts).toEqual([]);
    expect(metricOf(onlyUa.body, 'killed').conflicts).toEqual([]);
  });

  it('never sums an incremental part into a stock', async () => {
    const def = await p.post('/v1/metrics', {
      metric: 'deployed_total',
      label: 'Deployed in all',
      unit: 'persons',
      aggregation: 'stock',
      composedOf: ['deployed', 'reinforcements'],
    });
    expect(def.status).toBe(202);
    const r = await post('https://x.org/s4', [
      claim({ topic: 'inc-test', metric: 'deployed', value: { kind: 'exact', value: 11000 } }),
      claim({ topic: 'inc-test', metric: 'reinforcements', value: { kind: 'exact', value: 2000 } }),
      claim({
        topic: 'inc-test',
        metric: 'deployed_total',
        source: { id: 'src-b' },
        value: { kind: 'exact', value: 14000 },
      }),
    ]);
    const s = await p.get(`/v1/topics/inc-test/summary?minSeq=${Math.max(r.lastSeq, def.body.seq)}`);
    const m = metricOf(s.body, 'deployed_total');
    expect(m.checks).toEqual([]);
    expect(m.skipped[0]!.reason).toContain('reinforcements is incremental');
  });

  it('lists the instants at which the topic changed', async () => {
    const t = await p.get('/v1/topics/sum-test/timeline');
    expect(t.status).toBe(200);
    const types = t.body.instants.flatMap((i: { types: string[] }) => i.types);
    expect(types).toContain('ClaimRecorded');
    expect(types).toContain('ClaimCorrected');
    const times = t.body.instants.map((i: { knownAt: string }) => Date.parse(i.knownAt));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });
});

describe('live feed', () => {
  it('streams the current seq, then each new one, and ends when the service closes', async () => {
    const res = await fetch(`${p.queryUrl}/v1/live`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const nextSeq = async (): Promise<number> => {
      for (;;) {
        const m = /event: seq\ndata: (\{[^\n]*\})\n\n/.exec(buffer);
        if (m) {
          buffer = buffer.slice(m.index + m[0].length);
          return (JSON.parse(m[1]!) as { asOfSeq: number }).asOfSeq;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffer += decoder.decode(value, { stream: true });
      }
    };
    const first = await nextSeq();
    expect(first).toBeGreaterThan(0);
    const r = await post('https://x.org/live', [claim({ topic: 'live-test' })]);
    let seq = await nextSeq();
    while (seq < r.lastSeq) seq = await nextSeq();
    expect(seq).toBeGreaterThanOrEqual(r.lastSeq);

    // Closing the product with the stream open must not hang, and must end the stream.
    const closed = await Promise.race([
      p.stop().then(() => 'closed'),
      new Promise((r) => setTimeout(() => r('timed out'), 15_000)),
    ]);
    stopped = true;
    expect(closed).toBe('closed');
    let ended = false;
    for (;;) {
      const { done } = await reader.read().catch(() => ({ done: true }));
      if (done) {
        ended = true;
        break;
      }
    }
    expect(ended).toBe(true);
  });
});
