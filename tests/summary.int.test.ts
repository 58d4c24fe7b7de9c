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
  status: string;
  gap: number | null;
  sum: unknown;
  against: unknown;
  validSpreadDays: number;
};
type Metric = {
  metric: string;
  aggregation: string | null;
  latest: { source: { id: string }; best: number | null; change?: number | null; previous?: { best: number | null } }[];
  envelope: unknown;
  checks: Check[];
  skipped: { reason: string }[];
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
async function post(url: string, claims: Record<string, unknown>[]) {
  const r = await p.post('/v1/reports', { report: { url, publisher: 'P', publishedAt: '2025-03-01' }, claims });
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
  it('gives the NIS parts against the Ukrainian president a gap of 785, and against the US a gap of 1725', async () => {
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
      ['kr-nis', 'us-government', 'gap', 1725, { low: 2985, high: 3015 }, { low: 1140, high: 1260 }],
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

  it('calls claims describing times further apart than the tolerance misaligned', async () => {
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
    expect(metricOf(s.body, 'killed_or_wounded').checks.map((c) => [c.status, c.validSpreadDays, c.gap])).toEqual([
      ['misaligned', 215, 4800],
    ]);
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
