// "Known on" as the public knew it: an analyst back-fills three years of reporting in one afternoon,
// then asks what the record said on a past date. `publishedBy` counts only reports published by then
// (their whole publishedAt interval), and works out supersession, latest figures and checks within
// that view; `knownAt` (when claimtrail stored it) and `from`/`to` (on statedAt) combine with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProduct, type Product } from './helpers/product.ts';

let p: Product;
const TOPIC = 'russian-losses';
const ids: Record<string, string> = {};
let lastSeq = 0;

const claim = (source: string, value: number, statedAt: string) => ({
  topic: TOPIC,
  metric: 'killed',
  value: { kind: 'exact', value },
  source: { id: source },
  statedAt,
});

async function report(url: string, publishedAt: string, claims: unknown[]) {
  const res = await p.post('/v1/reports', { report: { url, publisher: 'Example Wire', publishedAt }, claims });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  lastSeq = res.body.lastSeq;
  return res.body.claims as { claimId: string; echo: boolean }[];
}

beforeAll(async () => {
  p = await startProduct('published-by');
  // Posted in one sitting, out of publication order, as a back-fill is.
  ids.d = (await report('https://example.org/jan', '2025-01-10', [claim('ua-mod', 900, '2025-01-05')]))[0]!.claimId;
  ids.a = (await report('https://example.org/oct', '2024-10-15', [claim('ua-mod', 500, '2024-10-14')]))[0]!.claimId;
  ids.b = (await report('https://example.org/nov-month', '2024-11', [claim('ua-mod', 700, '2024-11-01')]))[0]!.claimId;
  const [c, echo] = await report('https://example.org/nov-20', '2024-11-20', [
    claim('uk-mod', 650, '2024-11-19'),
    claim('ua-mod', 500, '2024-10-14'),
  ]);
  ids.c = c!.claimId;
  expect(echo).toMatchObject({ claimId: ids.a, echo: true });
});
afterAll(async () => {
  await p?.stop();
});

type Point = { claimId: string; supersededBy?: string; reports: { url: string }[] };
async function history(query: string) {
  const res = await p.get(`/v1/topics/${TOPIC}/metrics/killed/history?minSeq=${lastSeq}&${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const points = (res.body.series as { points: Point[] }[]).flatMap((s) => s.points);
  return { body: res.body, points: new Map(points.map((x) => [x.claimId, x])) };
}
const urls = (x: Point | undefined) => x?.reports.map((r) => r.url);

describe('publishedBy', () => {
  it('shows only what reports published by the date said, each point with only those reports', async () => {
    const oct = await history('publishedBy=2024-10-31');
    expect([...oct.points.keys()]).toEqual([ids.a]);
    expect(urls(oct.points.get(ids.a!))).toEqual(['https://example.org/oct']);
    expect(oct.body.publishedBy).toBe('2024-10-31');

    // 20 November: the day's report counts, November's monthly one does not yet (its month has not ended).
    const nov20 = await history('publishedBy=2024-11-20');
    expect([...nov20.points.keys()].sort()).toEqual([ids.a, ids.c].sort());
    expect(urls(nov20.points.get(ids.a!))).toEqual(['https://example.org/oct', 'https://example.org/nov-20']);

    const nov = await history('publishedBy=2024-11');
    expect([...nov.points.keys()].sort()).toEqual([ids.a, ids.b, ids.c].sort());

    const all = await history('');
    expect([...all.points.keys()].sort()).toEqual([ids.a, ids.b, ids.c, ids.d].sort());
  });

  it('works out supersession within the view: the ministry’s October figure stands on 20 November', async () => {
    expect((await history('publishedBy=2024-11-20')).points.get(ids.a!)?.supersededBy).toBeUndefined();
    expect((await history('publishedBy=2024-11')).points.get(ids.a!)?.supersededBy).toBe(ids.b);
    expect((await history('')).points.get(ids.b!)?.supersededBy).toBe(ids.d);

    const summary = await p.get(`/v1/topics/${TOPIC}/summary?publishedBy=2024-11-20`);
    expect(summary.status).toBe(200);
    const killed = (summary.body.metrics as { metric: string; latest: { claimId: string }[] }[]).find(
      (m) => m.metric === 'killed',
    )!;
    expect(killed.latest.map((l) => l.claimId).sort()).toEqual([ids.a, ids.c].sort());
    expect(summary.body.publishedBy).toBe('2024-11-20');
  });

  it('answers a claim not yet published with 404, and a claim with only the reports published by then', async () => {
    const early = await p.get(`/v1/claims/${ids.b}?publishedBy=2024-11-20`);
    expect(early.status).toBe(404);
    expect(early.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(early.body.detail).toBe(`no claim ${ids.b} cited by a report published by 2024-11-20`);
    const a = await p.get(`/v1/claims/${ids.a}?publishedBy=2024-10-31`);
    expect(a.status).toBe(200);
    expect((a.body.reports as { url: string }[]).map((r) => r.url)).toEqual(['https://example.org/oct']);
  });

  it('combines with from/to on statedAt, with knownAt, and applies to the CSV, the topics and the sources', async () => {
    expect([...(await history('publishedBy=2024-11-20&from=2024-11')).points.keys()]).toEqual([ids.c]);
    // Known at the instant the January report was stored (the first posted): by the end of January
    // the record held more, but claimtrail knew only January's figure then.
    const recordedAt = (await p.get(`/v1/claims/${ids.d}`)).body.claim.recordedAt as string;
    const known = await history(`publishedBy=2025-01-31&knownAt=${encodeURIComponent(recordedAt)}`);
    expect([...known.points.keys()]).toEqual([ids.d]);

    const csv = await p.get(`/v1/topics/${TOPIC}/metrics/killed/history.csv?publishedBy=2024-10-31`);
    expect(csv.status).toBe(200);
    const rows = String(csv.body).trim().split('\r\n');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toContain(ids.a);

    const topics = await p.get('/v1/topics?publishedBy=2024-10-31');
    const t = (topics.body.topics as { topic: string; metrics: { claims: number }[] }[]).find((x) => x.topic === TOPIC);
    expect(t?.metrics.map((m) => m.claims)).toEqual([1]);
    expect((await p.get('/v1/topics?publishedBy=2024-10-01')).body.topics).toEqual([]);

    const source = await p.get('/v1/sources/ua-mod?publishedBy=2024-11-20');
    expect(source.status).toBe(200);
    expect(source.body.source.claims).toBe(1);
  });

  it('lists the publication dates for the page’s slider, in the order their intervals end', async () => {
    const timeline = await p.get(`/v1/topics/${TOPIC}/timeline`);
    expect(timeline.status).toBe(200);
    expect(timeline.body.published).toEqual([
      { publishedAt: '2024-10-15', to: '2024-10-16T00:00:00.000Z', reports: 1 },
      { publishedAt: '2024-11-20', to: '2024-11-21T00:00:00.000Z', reports: 1 },
      { publishedAt: '2024-11', to: '2024-12-01T00:00:00.000Z', reports: 1 },
      { publishedAt: '2025-01-10', to: '2025-01-11T00:00:00.000Z', reports: 1 },
    ]);
  });

  it('refuses a publishedBy that is not a date, naming it', async () => {
    for (const path of [
      `/v1/topics/${TOPIC}/metrics/killed/history?publishedBy=last-week`,
      `/v1/topics/${TOPIC}/summary?publishedBy=2024-13`,
      `/v1/claims/${ids.a}?publishedBy=yesterday`,
    ]) {
      const res = await p.get(path);
      expect(res.status, path).toBe(400);
      expect(JSON.stringify(res.body), path).toContain('publishedBy');
    }
  });
});
