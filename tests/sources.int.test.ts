// Sources and each source's record, read back after real reports posted through ingest: the counts
// of GET /v1/sources and its pages, a source's claims as the history gives them, its revision
// steps (change and days) and its checks against other sources, and 404/400 for a bad source.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProduct, type Product } from './helpers/product.ts';

let p: Product;
let lastSeq = 0;
/** An instant after every report and before the correction and the retraction were recorded. */
let beforeCorrection = '';
const ids: Record<string, string | undefined> = {};

const claim = (over: Record<string, unknown>) => ({
  topic: 'src-revisions',
  metric: 'killed',
  source: { id: 'src-a', name: 'Source A', kind: 'military', country: 'UA' },
  ...over,
});
async function post(url: string, claims: Record<string, unknown>[], publishedAt = '2025-04-01') {
  const r = await p.post('/v1/reports', { report: { url, publisher: 'P', publishedAt }, claims });
  expect(r.status).toBe(202);
  lastSeq = Math.max(lastSeq, r.body.lastSeq as number);
  return (r.body.claims as { claimId: string }[]).map((c) => c.claimId);
}

interface Step {
  from: { claimId: string; statedAt: string; best: number };
  to: { claimId: string; statedAt: string; best: number };
  change: number;
  days: number;
}
interface RecordMetric {
  topic: string;
  metric: string;
  figures: number;
  revisions: number;
  meanAbsChange: number | null;
  steps: Step[];
  checks: {
    consistent: number;
    gap: number;
    byStatus: Record<string, number>;
    checks: {
      topic: string;
      side: string;
      status: string;
      componentSource: { id: string };
      compositeSource: { id: string };
    }[];
  };
}
interface Series {
  topic: string;
  metric: string;
  unit: string;
  points: { claimId: string; status: string; statedAt: string }[];
}
const recordOf = (body: { record: { metrics: RecordMetric[] } }, topic: string, metric: string) =>
  body.record.metrics.find((m) => m.topic === topic && m.metric === metric);

beforeAll(async () => {
  p = await startProduct('sources');
  for (const m of [
    { metric: 'killed', label: 'Killed', unit: 'persons', aggregation: 'cumulative' },
    { metric: 'wounded', label: 'Wounded', unit: 'persons', aggregation: 'cumulative' },
    {
      metric: 'killed_or_wounded',
      label: 'Killed or wounded',
      unit: 'persons',
      aggregation: 'cumulative',
      composedOf: ['killed', 'wounded'],
    },
    { metric: 'daily_losses', label: 'Daily losses', unit: 'persons', aggregation: 'incremental' },
  ])
    expect((await p.post('/v1/metrics', m)).status).toBe(202);

  // src-a revises its killed figure: 100 (corrected to 110 below), about 150 ten days later, "at
  // least 200" (no centre stated), 180-210 with best 190 thirty days after that and an exact 190 the
  // same day (a restatement, no revision), a bare range (no centre), and an exact 500 it retracts.
  [ids.first, ids.approx, ids.atLeast] = await post('https://r.example/1', [
    claim({ statedAt: '2025-01-01', value: { kind: 'exact', value: 100 } }),
    claim({ statedAt: '2025-01-11', value: { kind: 'approx', value: 150 } }),
    claim({ statedAt: '2025-01-21', value: { kind: 'at_least', value: 200 } }),
  ]);
  [ids.best, ids.restated, ids.range, ids.retracted] = await post('https://r.example/2', [
    claim({ statedAt: '2025-02-10', value: { kind: 'range', low: 180, best: 190, high: 210 } }),
    claim({ statedAt: '2025-02-10', value: { kind: 'exact', value: 190 } }),
    claim({ statedAt: '2025-03-01', value: { kind: 'range', low: 150, high: 250 } }),
    claim({ statedAt: '2025-03-15', value: { kind: 'exact', value: 500 } }),
  ]);
  // An incremental metric: day 1's figure (stated on day 2) revised three days later; day 2's figure is not a revision of day 1's.
  [ids.day1, ids.day2] = await post('https://r.example/3', [
    claim({
      metric: 'daily_losses',
      statedAt: '2025-01-02',
      validFrom: '2025-01-01',
      validTo: '2025-01-01',
      value: { kind: 'exact', value: 10 },
    }),
    claim({
      metric: 'daily_losses',
      statedAt: '2025-01-03',
      validFrom: '2025-01-02',
      validTo: '2025-01-02',
      value: { kind: 'exact', value: 20 },
    }),
  ]);
  [ids.day1Again] = await post('https://r.example/4', [
    claim({
      metric: 'daily_losses',
      statedAt: '2025-01-05',
      validFrom: '2025-01-01',
      validTo: '2025-01-01',
      value: { kind: 'exact', value: 12 },
    }),
  ]);
  // Checks: src-a's parts (killed 190 + wounded 300 = 490) against src-b's total 1000 (a gap of
  // 510) and src-c's 490 (consistent), all describing the same days; src-b relayed by a named desk.
  // src-d's total describes August, six months from src-a's parts: no check, one unaligned pair.
  await post('https://r.example/5', [
    claim({ topic: 'src-checks', statedAt: '2025-02-10', value: { kind: 'exact', value: 190 } }),
    claim({ topic: 'src-checks', metric: 'wounded', statedAt: '2025-02-10', value: { kind: 'exact', value: 300 } }),
  ]);
  await post('https://r.example/6', [
    {
      topic: 'src-checks',
      metric: 'killed_or_wounded',
      source: { id: 'src-b', name: 'Source B' },
      via: [{ id: 'src-relay', role: 'relay', name: 'Relay Desk' }],
      statedAt: '2025-02-12',
      validFrom: '2025-02-10',
      validTo: '2025-02-10',
      value: { kind: 'exact', value: 1000 },
    },
    {
      topic: 'src-checks',
      metric: 'killed_or_wounded',
      source: { id: 'src-c' },
      statedAt: '2025-02-11',
      validFrom: '2025-02-10',
      validTo: '2025-02-10',
      value: { kind: 'exact', value: 490 },
    },
    {
      topic: 'src-checks',
      metric: 'killed_or_wounded',
      source: { id: 'src-d' },
      statedAt: '2025-08-12',
      validFrom: '2025-08-10',
      validTo: '2025-08-10',
      value: { kind: 'exact', value: 495 },
    },
  ]);

  await new Promise((r) => setTimeout(r, 20));
  beforeCorrection = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 20));
  const corr = await p.post(`/v1/claims/${ids.first}/corrections`, {
    changes: { value: { kind: 'exact', value: 110 } },
    reason: 'misread',
  });
  expect(corr.status).toBe(202);
  const retr = await p.post(`/v1/claims/${ids.retracted}/retractions`, { reason: 'withdrawn', by: 'source' });
  expect(retr.status).toBe(202);
  lastSeq = Math.max(lastSeq, corr.body.seq as number, retr.body.seq as number);
  await p.get(`/v1/sources?minSeq=${lastSeq}`);
});
afterAll(async () => {
  await p?.stop();
});

describe('GET /v1/sources', () => {
  it('lists every source with the counts of its claims, topics, corrected and retracted claims', async () => {
    const r = await p.get('/v1/sources');
    expect(r.status).toBe(200);
    expect(r.body.asOfSeq).toBeGreaterThanOrEqual(lastSeq);
    expect(r.body.nextCursor).toBeNull();
    expect(r.body.sources).toEqual([
      {
        id: 'src-a',
        name: 'Source A',
        kind: 'military',
        country: 'UA',
        claims: 12,
        topics: 2,
        firstStatedAt: '2025-01-01',
        lastStatedAt: '2025-03-15',
        corrected: 1,
        retracted: 1,
      },
      {
        id: 'src-b',
        name: 'Source B',
        kind: null,
        country: null,
        claims: 1,
        topics: 1,
        firstStatedAt: '2025-02-12',
        lastStatedAt: '2025-02-12',
        corrected: 0,
        retracted: 0,
      },
      {
        id: 'src-c',
        name: null,
        kind: null,
        country: null,
        claims: 1,
        topics: 1,
        firstStatedAt: '2025-02-11',
        lastStatedAt: '2025-02-11',
        corrected: 0,
        retracted: 0,
      },
      {
        id: 'src-d',
        name: null,
        kind: null,
        country: null,
        claims: 1,
        topics: 1,
        firstStatedAt: '2025-08-12',
        lastStatedAt: '2025-08-12',
        corrected: 0,
        retracted: 0,
      },
      {
        id: 'src-relay',
        name: 'Relay Desk',
        kind: null,
        country: null,
        claims: 0,
        topics: 0,
        firstStatedAt: null,
        lastStatedAt: null,
        corrected: 0,
        retracted: 0,
      },
    ]);
  });

  it('pages with limit and cursor, the pages joined equal to one answer', async () => {
    const whole = (await p.get('/v1/sources')).body.sources.map((s: { id: string }) => s.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await p.get(`/v1/sources?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.body.sources).toHaveLength(1);
      seen.push(...r.body.sources.map((s: { id: string }) => s.id));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(seen).toEqual(whole);
    expect(pages).toBe(5);
  });

  it('answers what was known at a past instant, and refuses a bad cursor or limit naming the parameter', async () => {
    const before = await p.get('/v1/sources?knownAt=2020-01-01T00:00:00Z');
    expect(before.status).toBe(200);
    expect(before.body.sources).toEqual([]);
    for (const [q, path] of [
      ['cursor=nonsense', 'query:/cursor'],
      ['limit=0', 'query:/limit'],
      ['limit=1001', 'query:/limit'],
      ['knownAt=yesterday', 'query:/knownAt'],
    ]) {
      const r = await p.get(`/v1/sources?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
  });
});

describe('GET /v1/sources/{sourceId}', () => {
  it("gives the source's claims by topic and metric, each series as the history's points", async () => {
    const r = await p.get('/v1/sources/src-a');
    expect(r.status).toBe(200);
    expect(r.body.source).toMatchObject({ id: 'src-a', name: 'Source A', claims: 12, retracted: 1, corrected: 1 });
    expect(r.body.nextCursor).toBeNull();
    const series = r.body.metrics as Series[];
    expect(series.map((s) => [s.topic, s.metric, s.unit, s.points.length])).toEqual([
      ['src-checks', 'killed', 'persons', 1],
      ['src-checks', 'wounded', 'persons', 1],
      ['src-revisions', 'daily_losses', 'persons', 3],
      ['src-revisions', 'killed', 'persons', 6],
    ]);
    for (const s of series) {
      const h = await p.get(`/v1/topics/${s.topic}/metrics/${s.metric}/history?source=src-a`);
      expect(s.points).toEqual(h.body.series[0].points);
    }
    const killed = series.at(-1)!;
    expect(killed.points.map((x) => [x.claimId, x.status])).toEqual([
      [ids.first, 'superseded'],
      [ids.approx, 'superseded'],
      [ids.atLeast, 'superseded'],
      [ids.best, 'superseded'],
      [ids.restated, 'superseded'],
      [ids.range, 'active'],
    ]);
    const all = await p.get('/v1/sources/src-a?includeRetracted=true');
    expect(
      (all.body.metrics as Series[])
        .at(-1)!
        .points.map((x) => [x.claimId, x.status])
        .at(-1),
    ).toEqual([ids.retracted, 'retracted']);
  });

  it('pages its points with limit and cursor, the pages joined equal to one answer', async () => {
    const whole = (await p.get('/v1/sources/src-a')).body;
    const points: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await p.get(`/v1/sources/src-a?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.body.record).toEqual(whole.record);
      const n = (r.body.metrics as Series[]).reduce((a, s) => a + s.points.length, 0);
      expect(n).toBeLessThanOrEqual(2);
      points.push(...(r.body.metrics as Series[]).flatMap((s) => s.points.map((x) => `${s.metric}:${x.claimId}`)));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor !== null && pages < 20);
    expect(points).toEqual((whole.metrics as Series[]).flatMap((s) => s.points.map((x) => `${s.metric}:${x.claimId}`)));
    expect(pages).toBe(6);
  });

  it('records each revision of a figure it stated: the change and the days between, corrections applied', async () => {
    const r = await p.get('/v1/sources/src-a');
    const killed = recordOf(r.body, 'src-revisions', 'killed')!;
    // 110 (as corrected) → 150 → 190 → 190 again: "at least 200" and the bare range state no
    // centre, 500 was retracted; the restatement is a step but no revision.
    expect(killed).toMatchObject({ figures: 4, revisions: 2, meanAbsChange: 40 });
    expect(killed.steps).toEqual([
      {
        from: { claimId: ids.first, statedAt: '2025-01-01', best: 110 },
        to: { claimId: ids.approx, statedAt: '2025-01-11', best: 150 },
        change: 40,
        days: 10,
      },
      {
        from: { claimId: ids.approx, statedAt: '2025-01-11', best: 150 },
        to: { claimId: ids.best, statedAt: '2025-02-10', best: 190 },
        change: 40,
        days: 30,
      },
      {
        from: { claimId: ids.best, statedAt: '2025-02-10', best: 190 },
        to: { claimId: ids.restated, statedAt: '2025-02-10', best: 190 },
        change: 0,
        days: 0,
      },
    ]);
    // Incremental: only day 1's figure was revised (10 → 12, three days later).
    const daily = recordOf(r.body, 'src-revisions', 'daily_losses')!;
    expect(daily).toMatchObject({ figures: 3, revisions: 1 });
    expect(daily.steps.map((s) => [s.from.claimId, s.to.claimId, s.change, s.days])).toEqual([
      [ids.day1, ids.day1Again, 2, 3],
    ]);
  });

  it('answers as the system knew it at knownAt: before the correction, the first figure was 100', async () => {
    const r = await p.get(`/v1/sources/src-a?knownAt=${beforeCorrection}`);
    expect(r.status).toBe(200);
    expect(r.body.knownAt).toBe(beforeCorrection);
    expect(r.body.source).toMatchObject({ claims: 12, corrected: 0, retracted: 0 });
    const killed = recordOf(r.body, 'src-revisions', 'killed')!;
    // 100 → 150 → 190 → 190, and the 500 not yet retracted: 190 → 500 (+310 in 33 days).
    expect(killed.steps.map((s) => [s.from.best, s.to.best, s.change, s.days])).toEqual([
      [100, 150, 50, 10],
      [150, 190, 40, 30],
      [190, 190, 0, 0],
      [190, 500, 310, 33],
    ]);
    expect(killed).toMatchObject({ figures: 5, revisions: 3, meanAbsChange: 133.333333 });
    const list = await p.get(`/v1/sources?knownAt=${beforeCorrection}`);
    expect(list.body.sources.find((s: { id: string }) => s.id === 'src-a')).toMatchObject({
      claims: 12,
      corrected: 0,
      retracted: 0,
    });
  });

  it('counts how its figures fared in checks against other sources, with the checks', async () => {
    const a = await p.get('/v1/sources/src-a');
    const total = recordOf(a.body, 'src-checks', 'killed_or_wounded')!;
    expect(total).toMatchObject({
      figures: 0,
      revisions: 0,
      checks: { consistent: 1, gap: 1, byStatus: { consistent: 1, gap: 1 }, unaligned: 1, checksLeftOff: 0 },
    });
    expect(
      total.checks.checks.map((c) => [c.topic, c.side, c.componentSource.id, c.compositeSource.id, c.status]).sort(),
    ).toEqual([
      ['src-checks', 'components', 'src-a', 'src-b', 'gap'],
      ['src-checks', 'components', 'src-a', 'src-c', 'consistent'],
    ]);
    expect(a.body.record.uncheckedTopics).toEqual([]);
    const b = await p.get('/v1/sources/src-b');
    const bTotal = recordOf(b.body, 'src-checks', 'killed_or_wounded')!;
    expect(bTotal.checks).toMatchObject({ consistent: 0, gap: 1, unaligned: 0 });
    expect(bTotal.checks.checks.map((c) => [c.side, c.componentSource.id])).toEqual([['composite', 'src-a']]);
    const d = await p.get('/v1/sources/src-d');
    expect(recordOf(d.body, 'src-checks', 'killed_or_wounded')!.checks).toMatchObject({
      consistent: 0,
      gap: 0,
      unaligned: 1,
      checks: [],
    });
    // The summary's own checks of the topic, between these sources, are the ones the records hold.
    const s = await p.get('/v1/topics/src-checks/summary');
    const summaryChecks = (
      s.body.metrics as {
        metric: string;
        checks: { componentClaims: { claimId: string }[]; compositeClaim: { claimId: string } }[];
      }[]
    )
      .find((m) => m.metric === 'killed_or_wounded')!
      .checks.map((c) => [...c.componentClaims.map((x) => x.claimId), c.compositeClaim.claimId].join(' '))
      .sort();
    const recordChecks = (
      total.checks.checks as unknown as {
        componentClaims: { claimId: string }[];
        compositeClaim: { claimId: string };
      }[]
    )
      .map((c) => [...c.componentClaims.map((x) => x.claimId), c.compositeClaim.claimId].join(' '))
      .sort();
    expect(recordChecks).toEqual(summaryChecks);
  });

  it('holds at most 100 series a page, and a cursor into a series that has gone since starts the next one whole', async () => {
    const many = (topic: string, statedAt: string, value: number) => ({
      topic,
      metric: 'killed',
      source: { id: 'src-many' },
      statedAt,
      value: { kind: 'exact', value },
    });
    const [first, second] = await post('https://r.example/many', [
      many('many-000', '2025-01-01', 1),
      many('many-000', '2025-01-02', 2),
      // Stated before many-000's figures: a page resuming after one of those must not skip them.
      ...Array.from({ length: 100 }, (_, i) => many(`many-${String(i + 1).padStart(3, '0')}`, '2024-01-01', 3)),
    ]);
    const whole = await p.get(`/v1/sources/src-many?minSeq=${lastSeq}`);
    expect(whole.status).toBe(200);
    const series = whole.body.metrics as Series[];
    expect(series).toHaveLength(100);
    expect(series.reduce((n, s) => n + s.points.length, 0)).toBe(101);
    const rest = await p.get(`/v1/sources/src-many?cursor=${whole.body.nextCursor}`);
    expect((rest.body.metrics as Series[]).map((s) => [s.topic, s.points.length])).toEqual([['many-100', 1]]);
    expect(rest.body.nextCursor).toBeNull();

    const one = await p.get('/v1/sources/src-many?limit=1');
    expect((one.body.metrics as Series[]).map((s) => s.points.map((x) => x.claimId))).toEqual([[first]]);
    for (const id of [first, second]) {
      const r = await p.post(`/v1/claims/${id}/retractions`, { reason: 'withdrawn', by: 'source' });
      expect(r.status).toBe(202);
      lastSeq = Math.max(lastSeq, r.body.seq as number);
    }
    const next = await p.get(`/v1/sources/src-many?limit=1&cursor=${one.body.nextCursor}&minSeq=${lastSeq}`);
    expect(next.status).toBe(200);
    expect((next.body.metrics as Series[]).map((s) => [s.topic, s.points.map((x) => x.statedAt)])).toEqual([
      ['many-001', ['2024-01-01']],
    ]);
  });

  it('are described in the OpenAPI document, with their 404', async () => {
    const doc = await p.get('/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/sources', '/v1/sources/{sourceId}']));
    expect(Object.keys(doc.body.paths['/v1/sources/{sourceId}'].get.responses)).toEqual(
      expect.arrayContaining(['200', '400', '404', '503']),
    );
  });

  it('answers a source nobody registered or named 404, and a bad id 400 naming the field', async () => {
    const none = await p.get('/v1/sources/nobody');
    expect(none.status).toBe(404);
    expect(none.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(none.body.detail).toBe('source nobody is unknown: not registered and no claim names it');
    const before = await p.get('/v1/sources/src-a?knownAt=2020-01-01T00:00:00Z');
    expect(before.status).toBe(404);
    const relay = await p.get('/v1/sources/src-relay');
    expect(relay.status).toBe(200);
    expect(relay.body).toMatchObject({ metrics: [], record: { metrics: [], uncheckedTopics: [] } });
    for (const [path, field] of [
      ['/v1/sources/Not_A_Slug', 'sourceId'],
      ['/v1/sources/src-a?cursor=nonsense', 'cursor'],
      ['/v1/sources/src-a?limit=50001', 'limit'],
    ] as const) {
      const r = await p.get(path);
      expect(r.status, path).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(JSON.stringify(r.body.errors)).toContain(field);
    }
  });
});
