import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash, GENESIS_HASH, newToken } from '@claimtrail/shared/identity';
import { createToken, loadCliConfig } from '@claimtrail/cli';
import { createPool } from '@claimtrail/shared/db';
import { startProduct, type Product } from './helpers/product.ts';

let p: Product;
let reader: string;
const claim = (over: Record<string, unknown>) => ({
  topic: 'test-topic',
  metric: 'killed',
  value: { kind: 'exact', value: 100 },
  source: { id: 'src-a', name: 'Source A' },
  statedAt: '2025-01',
  ...over,
});
const report = (url: string, claims: Record<string, unknown>[]) => ({
  report: { url, publisher: 'P', publishedAt: '2025-03-01' },
  claims,
});

beforeAll(async () => {
  p = await startProduct('query');
  const config = loadCliConfig({ ...p.env.env });
  reader = await createToken(config, p.env.db, p.env.nc, 'reader', ['read']);
  const a = await p.post(
    '/v1/reports',
    report('https://x.org/1', [
      claim({}),
      claim({ statedAt: '2025-02', value: { kind: 'at_least', value: 150 } }),
      claim({ source: { id: 'src-b' }, value: { kind: 'at_most', value: 90 } }),
    ]),
  );
  expect(a.status).toBe(202);
  const b = await p.post(
    '/v1/reports',
    report('https://x.org/2', [
      claim({ metric: 'wounded', statedAt: '2025-03', value: { kind: 'range', low: 1, high: 2 } }),
    ]),
  );
  await p.get(`/v1/topics?minSeq=${b.body.lastSeq}`);
});
afterAll(async () => {
  await p?.stop();
});

describe('history', () => {
  it('orders points by statedAt, marks older figures of a source superseded, and carries asOfSeq', async () => {
    const h = await p.get('/v1/topics/test-topic/metrics/killed/history');
    expect(h.status).toBe(200);
    expect(h.body.asOfSeq).toBeGreaterThan(0);
    const a = h.body.series.find((s: { source: { id: string } }) => s.source.id === 'src-a');
    expect(a.points.map((x: { statedAt: string; status: string }) => [x.statedAt, x.status])).toEqual([
      ['2025-01', 'superseded'],
      ['2025-02', 'active'],
    ]);
    expect(a.points[1]).toMatchObject({ low: 150, best: null, high: null });
    const b = h.body.series.find((s: { source: { id: string } }) => s.source.id === 'src-b');
    expect(b.points[0]).toMatchObject({ low: null, best: null, high: 90 });
  });
  it('filters by source and by statedAt window', async () => {
    const only = await p.get('/v1/topics/test-topic/metrics/killed/history?source=src-b');
    expect(only.body.series.map((s: { source: { id: string } }) => s.source.id)).toEqual(['src-b']);
    const windowed = await p.get('/v1/topics/test-topic/metrics/killed/history?from=2025-02&to=2025-02');
    expect(
      windowed.body.series.flatMap((s: { points: { statedAt: string }[] }) => s.points.map((x) => x.statedAt)),
    ).toEqual(['2025-02']);
  });
  it('answers an instant before anything was recorded 404: the topic was not known then', async () => {
    const h = await p.get('/v1/topics/test-topic/metrics/killed/history?knownAt=2020-01-01T00:00:00Z');
    expect(h.status).toBe(404);
    expect(h.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(h.body.detail).toBe(
      'topic test-topic is unknown at 2020-01-01T00:00:00.000Z: nobody defined it and no claim names it',
    );
  });
  it('answers a known topic and metric with no point in the window with no series', async () => {
    const h = await p.get('/v1/topics/test-topic/metrics/killed/history?from=2030');
    expect(h.status).toBe(200);
    expect(h.body.series).toEqual([]);
  });
  it.each([
    ['knownAt=yesterday', 'query:/knownAt'],
    ['minSeq=-1', 'query:/minSeq'],
    ['colour=red', 'query:/colour'],
    ['includeRetracted=maybe', 'query:/includeRetracted'],
  ])('refuses %s naming the parameter', async (qs, path) => {
    const h = await p.get(`/v1/topics/test-topic/metrics/killed/history?${qs}`);
    expect(h.status).toBe(400);
    expect(h.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });
  it('refuses a bad topic slug in the path', async () => {
    const h = await p.get('/v1/topics/Bad_Topic/metrics/killed/history');
    expect(h.status).toBe(400);
  });
});

describe('read your own writes with minSeq', () => {
  it('waits for the projection to reach the seq ingest returned', async () => {
    const w = await p.post(
      '/v1/reports',
      report('https://x.org/ryow', [claim({ metric: 'deployed', statedAt: '2025-04' })]),
    );
    const h = await p.get(`/v1/topics/test-topic/metrics/deployed/history?minSeq=${w.body.lastSeq}`);
    expect(h.body.asOfSeq).toBeGreaterThanOrEqual(w.body.lastSeq);
    expect(h.body.series[0].points[0].claimId).toBe(w.body.claims[0].claimId);
  });
  it('answers 503 with Retry-After when the seq is not reached within 5 s', async () => {
    const t0 = Date.now();
    const h = await p.get('/v1/topics?minSeq=999999');
    expect(h.status).toBe(503);
    expect(h.headers.get('retry-after')).toBeTruthy();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4900);
  });
});

describe('claims and topics', () => {
  it('lists topics with counts', async () => {
    const t = await p.get('/v1/topics');
    const topic = t.body.topics.find((x: { topic: string }) => x.topic === 'test-topic');
    expect(topic.metrics.find((m: { metric: string }) => m.metric === 'killed')).toMatchObject({
      claims: 3,
      sources: 2,
      firstStatedAt: '2025-01',
      lastStatedAt: '2025-02',
    });
  });
  it('404 for an unknown claim and for a claim not yet known at knownAt', async () => {
    expect((await p.get('/v1/claims/clm_000000000000000000000000')).status).toBe(404);
    const h = await p.get('/v1/topics/test-topic/metrics/killed/history');
    const id = h.body.series[0].points[0].claimId;
    expect((await p.get(`/v1/claims/${id}`)).status).toBe(200);
    expect((await p.get(`/v1/claims/${id}?knownAt=2020-01-01T00:00:00Z`)).status).toBe(404);
  });
});

describe('a claim', () => {
  it('answers its version, status, revisions and citing reports, now and at a past instant', async () => {
    const story = (over: Record<string, unknown>) => claim({ topic: 'story-topic', ...over });
    const first = await p.post('/v1/reports', {
      report: { url: 'https://x.org/story/1', publisher: 'Wire', publishedAt: '2025-03-01', title: 'First' },
      claims: [story({ quote: 'one hundred' }), story({ statedAt: '2025-02', value: { kind: 'exact', value: 120 } })],
    });
    expect(first.status).toBe(202);
    const [x, y] = first.body.claims.map((c: { claimId: string }) => c.claimId) as [string, string];
    const echo = await p.post('/v1/reports', {
      report: { url: 'https://x.org/story/2', publisher: 'Daily', publishedAt: '2025-03-02', title: 'Second' },
      claims: [story({ quote: 'echoed' })],
    });
    expect(echo.body.claims[0]).toMatchObject({ claimId: x, echo: true });
    await p.get(`/v1/claims/${x}?minSeq=${echo.body.lastSeq}`);
    await new Promise((r) => setTimeout(r, 20));
    const before = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const corr = await p.post(`/v1/claims/${x}/corrections`, { changes: { quote: 'a hundred' }, reason: 'typo' });
    expect(corr.status).toBe(202);
    const retr = await p.post(`/v1/claims/${y}/retractions`, { reason: 'withdrawn', by: 'source' });
    expect(retr.status).toBe(202);

    const reports = [
      {
        url: 'https://x.org/story/1',
        publisher: 'Wire',
        publishedAt: '2025-03-01',
        title: 'First',
        echo: false,
        quote: 'one hundred',
      },
      {
        url: 'https://x.org/story/2',
        publisher: 'Daily',
        publishedAt: '2025-03-02',
        title: 'Second',
        echo: true,
        quote: 'echoed',
      },
    ];
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    // Now: corrected, and no longer superseded (the newer figure of its source is retracted).
    const now = await p.get(`/v1/claims/${x}?minSeq=${retr.body.seq}`);
    expect(now.status).toBe(200);
    expect(now.body.claim).toMatchObject({
      claimId: x,
      topic: 'story-topic',
      metric: 'killed',
      source: { id: 'src-a', name: 'Source A' },
      value: { kind: 'exact', value: 100 },
      low: 100,
      best: 100,
      high: 100,
      status: 'corrected',
      quote: 'a hundred',
      statedAt: '2025-01',
    });
    expect(now.body.claim.recordedAt).toMatch(iso);
    expect(now.body.revisions.map((r: { type: string }) => r.type)).toEqual([
      'ClaimRecorded',
      'ClaimCited',
      'ClaimCorrected',
    ]);
    expect(now.body.revisions[2]).toMatchObject({ reason: 'typo', changes: { quote: 'a hundred' } });
    expect(now.body.revisions[0]).not.toHaveProperty('changes');
    for (const r of now.body.revisions) {
      expect(r.recordedAt).toMatch(iso);
      expect(typeof r.seq).toBe('number');
    }
    expect(now.body.revisions.map((r: { seq: number }) => r.seq)).toEqual(
      [...now.body.revisions.map((r: { seq: number }) => r.seq)].sort((a, b) => a - b),
    );
    expect(now.body.reports).toMatchObject(reports);
    expect(now.body.reports[0].seq).toBeLessThan(now.body.reports[1].seq);
    expect(now.body.asOfSeq).toBeGreaterThanOrEqual(retr.body.seq);

    // Before the correction: the quote as recorded, superseded by the source's newer figure then.
    const then = await p.get(`/v1/claims/${x}?knownAt=${before}`);
    expect(then.body.claim).toMatchObject({ status: 'superseded', quote: 'one hundred' });
    expect(then.body.revisions.map((r: { type: string }) => r.type)).toEqual(['ClaimRecorded', 'ClaimCited']);
    expect(then.body.reports).toMatchObject(reports);

    // The history of the same metric: each point with its citing reports in seq order, one
    // statement's rows grouped per point (x has two citations; y, retracted, only with includeRetracted).
    const hist = await p.get(`/v1/topics/story-topic/metrics/killed/history?minSeq=${retr.body.seq}`);
    expect(hist.status).toBe(200);
    const points = hist.body.series[0].points;
    expect(points.map((q: { claimId: string; status: string }) => [q.claimId, q.status])).toEqual([[x, 'corrected']]);
    expect(points[0].reports).toEqual(
      reports.map(({ echo: _e, quote: _q, ...r }) => ({ reportId: expect.any(String), ...r })),
    );
    expect(points[0].recordedAt).toBe(now.body.claim.recordedAt);
    expect(points[0].recordedAt).toMatch(iso);
    const withRetracted = await p.get(`/v1/topics/story-topic/metrics/killed/history?includeRetracted=true`);
    expect(
      withRetracted.body.series[0].points.map((q: { claimId: string; status: string }) => [q.claimId, q.status]),
    ).toEqual([
      [x, 'corrected'],
      [y, 'retracted'],
    ]);
    // Before the correction and retraction: x superseded by y, both cited as they were then.
    const histThen = await p.get(`/v1/topics/story-topic/metrics/killed/history?knownAt=${before}`);
    expect(
      histThen.body.series[0].points.map((q: { claimId: string; status: string; reports: unknown[] }) => [
        q.claimId,
        q.status,
        q.reports.length,
      ]),
    ).toEqual([
      [x, 'superseded', 2],
      [y, 'active', 1],
    ]);

    const retracted = await p.get(`/v1/claims/${y}`);
    expect(retracted.body.claim.status).toBe('retracted');
    expect(retracted.body.revisions.at(-1)).toMatchObject({
      type: 'ClaimRetracted',
      reason: 'withdrawn',
      by: 'source',
    });
  });
});

describe("the query service's connections", () => {
  it('are read-only and sort a large answer in memory (work_mem 16MB)', async () => {
    const pool = createPool({ url: p.env.env.DATABASE_URL!, max: 1, readOnly: true });
    try {
      expect((await pool.query('show work_mem')).rows[0].work_mem).toBe('16MB');
      // CLAIMTRAIL_READ_TIMEOUT_MS's default: no read holds a connection for longer.
      expect((await pool.query('show statement_timeout')).rows[0].statement_timeout).toBe('5s');
      await expect(pool.query('create table not_here (x int)')).rejects.toThrow(/read-only transaction/);
    } finally {
      await pool.end();
    }
  });
});

describe('the audit view of events', () => {
  it('needs audit:read', async () => {
    expect((await p.get('/v1/events')).status).toBe(401);
    expect((await p.get('/v1/events', { authorization: `Bearer ${reader}` })).status).toBe(403);
    expect((await p.get('/v1/events', { authorization: `Bearer ${newToken()}` })).status).toBe(401);
  });
  it('pages the envelopes in seq order with chain hashes that recompute', async () => {
    const auth = { authorization: `Bearer ${p.token}` };
    const first = await p.get('/v1/events?limit=3', auth);
    expect(first.status).toBe(200);
    expect(first.body.events.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3]);
    expect(first.body.nextFromSeq).toBe(4);
    let prev = GENESIS_HASH;
    for (const e of first.body.events) {
      prev = chainHash(prev, JSON.stringify(e.event));
      expect(e.chainHash).toBe(prev);
    }
    const v = await p.get('/v1/events?fromSeq=2&toSeq=4&verify=true', auth);
    expect(v.body.events).toHaveLength(3);
    expect(v.body.verify).toMatchObject({ ok: true, checked: 3, firstMismatchSeq: null });
    const bad = await p.get('/v1/events?fromSeq=5&toSeq=4', auth);
    expect(bad.status).toBe(400);
    const topic = await p.get('/v1/events?topic=test-topic&limit=1000', auth);
    expect(topic.body.events.every((e: { subject: string }) => e.subject.includes('.claim.test-topic.'))).toBe(true);
    expect((await p.get('/v1/events?limit=1001', auth)).status).toBe(400);
  });
});

describe('the query service edge', () => {
  it('publishes OpenAPI 3.1 and health', async () => {
    const doc = await p.get('/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/topics',
        '/v1/topics/{topic}/metrics/{metric}/history',
        '/v1/claims/{claimId}',
        '/v1/events',
      ]),
    );
    expect((await p.get('/readyz')).status).toBe(200);
    expect((await p.get('/metrics')).body).toContain('http_request_duration_seconds');
    expect((await p.get('/v1/nothing')).status).toBe(404);
  });
});

describe('hostile input', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
    'answers GET /assets/%s 404, not an Object.prototype member',
    async (name) => {
      const r = await p.get(`/assets/${name}`);
      expect(r.status).toBe(404);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    },
  );
  it('still serves the page’s own assets', async () => {
    expect((await p.get('/assets/app.js')).status).toBe(200);
  });
  it.each([
    ['source=%00', 'query:/source'],
    ['source=src-a%00', 'query:/source'],
    ['source=src-a&source=%00x', 'query:/source/1'],
  ])('refuses a NUL in the history’s source (%s) naming the parameter', async (qs, path) => {
    const r = await p.get(`/v1/topics/test-topic/metrics/killed/history?${qs}`);
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });
  it.each(['%00', 'test-topic%00', 'Test_Topic'])('refuses topic=%s of /v1/events naming the parameter', async (t) => {
    const r = await p.get(`/v1/events?topic=${t}`, { authorization: `Bearer ${p.token}` });
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: { path: string }) => e.path)).toContain('query:/topic');
  });
});

describe('the reader role (infra/postgres/roles.sql)', () => {
  it('may not create temporary tables, even in a read-write transaction', async () => {
    const url = p.env.env.DATABASE_URL!;
    execFileSync('psql', ['-v', 'ON_ERROR_STOP=1', '-q', '-d', url, '-f', 'infra/postgres/roles.sql'], {
      cwd: new URL('..', import.meta.url),
      stdio: 'pipe',
    });
    const asSuper = createPool({ url, max: 1 });
    try {
      const privileges = await asSuper.query(
        `select r.rolname, has_database_privilege(r.rolname, current_database(), 'TEMPORARY') as temp
           from pg_roles r where r.rolname in ('claimtrail_reader', 'claimtrail_writer') order by 1`,
      );
      expect(privileges.rows).toEqual([
        { rolname: 'claimtrail_reader', temp: false },
        { rolname: 'claimtrail_writer', temp: true },
      ]);
    } finally {
      await asSuper.end();
    }
    const readerUrl = new URL(url);
    readerUrl.username = 'claimtrail_reader';
    readerUrl.password = '';
    const reader = new pg.Client({ connectionString: readerUrl.toString() });
    await reader.connect();
    try {
      await reader.query('begin read write');
      await expect(reader.query('create temporary table t (x int)')).rejects.toThrow(/permission denied/);
    } finally {
      await reader.end();
    }
  });
});

describe('reads behind a token', () => {
  it('refuses anonymous reads when CLAIMTRAIL_REQUIRE_READ_TOKEN=1', async () => {
    const locked = await startProduct('locked', { env: { CLAIMTRAIL_REQUIRE_READ_TOKEN: '1' } });
    try {
      expect((await locked.get('/v1/topics')).status).toBe(401);
      expect((await locked.get('/v1/topics', { authorization: `Bearer ${locked.token}` })).status).toBe(200);
    } finally {
      await locked.stop();
    }
  });
});
