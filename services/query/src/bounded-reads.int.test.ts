// The query service's bounds on reads, over read models written straight into Postgres (no
// stream: what is tested here is how the service reads, not how they were folded): the statement
// timeout, cancellation when the client goes away, pagination, the lanes' bound on reads in flight
// and the cap on live streams. Slow reads are made slow for real: a lock held on claim_versions
// by another transaction, or a data set large enough.
import http from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@claimtrail/shared';
import { createDb, defaultReadSchemaOf } from '@claimtrail/shared/db';
import { createTestEnv, seededRandom, type TestEnv } from '@claimtrail/shared/testing';
import { createPgTokenStore, createQueryApp } from './query.app.ts';
import type { QueryLimitsOverride } from './query-limits.ts';

let env: TestEnv;
let admin: pg.Client;
const RM = () => defaultReadSchemaOf(env.schema);

const T0 = '2025-06-01T00:00:00.000Z';
/** When the later versions (corrections, retractions) became known. */
const T1 = '2025-06-02T00:00:00.000Z';
const BEFORE_T1 = '2025-06-01T12:00:00Z';
const SOURCES = ['source-0', 'source-1', 'source-2', 'source-3', 'source-4'];
const BULK_ROWS = 150_000;

interface Version {
  claim_id: string;
  seq_from: number;
  seq_to: number | null;
  known_from: string;
  known_to: string | null;
  topic: string;
  metric: string;
  source_id: string;
  unit: string;
  value: unknown;
  low: number;
  best: number;
  high: number;
  rule: string;
  stated_at: string;
  stated_from: string;
  stated_to: string;
  valid_from: string;
  valid_from_at: string;
  valid_to: string;
  valid_to_at: string;
  quote: string | null;
  via: unknown;
  status: string;
  first_seq: number;
  recorded_at: string;
  report_id: string;
}

/**
 * The topic `paged`, metric `killed`: 5 sources × 24 points, with equal statedAt within and across
 * sources, corrections and retractions known from T1 (before it, the first versions), and two
 * citations of every third point.
 */
function pagedVersions(): { versions: Version[]; citations: object[] } {
  const r = seededRandom(11);
  const versions: Version[] = [];
  const citations: object[] = [];
  let seq = 1;
  for (let i = 0; i < SOURCES.length * 24; i++) {
    const sourceId = SOURCES[i % SOURCES.length]!;
    // Days 1..12 of 2025-01: two points of a source often share one.
    const day = 1 + Math.floor(r() * 12);
    const statedAt = `2025-01-${String(day).padStart(2, '0')}`;
    const firstSeq = seq++;
    const claimId = `clm_${firstSeq.toString(16).padStart(24, '0')}`;
    const value = Math.floor(r() * 1000);
    const base: Version = {
      claim_id: claimId,
      seq_from: firstSeq,
      seq_to: null,
      known_from: T0,
      known_to: null,
      topic: 'paged',
      metric: 'killed',
      source_id: sourceId,
      unit: 'persons',
      value: { kind: 'exact', value },
      low: value,
      best: value,
      high: value,
      rule: 'exact@1',
      stated_at: statedAt,
      stated_from: `${statedAt}T00:00:00Z`,
      stated_to: `${statedAt}T23:59:59.999Z`,
      valid_from: statedAt,
      valid_from_at: `${statedAt}T00:00:00Z`,
      valid_to: statedAt,
      valid_to_at: `${statedAt}T23:59:59.999Z`,
      quote: i % 4 === 0 ? `about ${value}` : null,
      via: [],
      status: 'active',
      first_seq: firstSeq,
      recorded_at: T0,
      report_id: 'rpt_paged',
    };
    const roll = r();
    if (roll < 0.3) {
      const laterSeq = 10_000 + firstSeq;
      versions.push({ ...base, seq_to: laterSeq, known_to: T1 });
      versions.push({
        ...base,
        seq_from: laterSeq,
        known_from: T1,
        status: roll < 0.15 ? 'retracted' : 'corrected',
      });
    } else versions.push(base);
    if (i % 3 === 0)
      for (const k of [1, 2])
        citations.push({
          claim_id: claimId,
          seq: 20_000 + firstSeq * 2 + k,
          known_at: T0,
          report_id: `rpt_${k}`,
          echo: k === 2,
          via: [],
          quote: null,
        });
  }
  return { versions, citations };
}

async function seed() {
  const s = RM();
  const { versions, citations } = pagedVersions();
  await admin.query(
    `insert into ${s}.checkpoint (name, last_seq, chain_hash) values ('projector', 100000, 'seeded');
     insert into ${s}.reports (report_id, seq, known_at, url, publisher, published_at, published_from, published_to)
       values ('rpt_1', 1, '${T0}', 'https://x.org/1', 'P', '2025-01-01', '2025-01-01', '2025-01-02'),
              ('rpt_2', 2, '${T0}', 'https://x.org/2', 'Q', '2025-01-02', '2025-01-02', '2025-01-03');
     insert into ${s}.sources (source_id, seq_from, known_from, name)
       select 'source-' || i, 1, '${T0}', 'Source ' || i from generate_series(0, 4) i;`,
  );
  // The columns named, so that columns added later keep their defaults.
  const insertRows = (table: string, rows: object[]) => {
    const columns = Object.keys(rows[0]!).join(', ');
    return admin.query(
      `insert into ${s}.${table} (${columns}) select ${columns} from json_populate_recordset(null::${s}.${table}, $1)`,
      [JSON.stringify(rows)],
    );
  };
  await insertRows('claim_versions', versions);
  await insertRows('claim_citations', citations);
  // The bulk: 400 topics, enough rows that reading all of them takes a while.
  await admin.query(
    `insert into ${s}.claim_versions
       (claim_id, seq_from, known_from, topic, metric, source_id, unit, value, low, best, high, rule, stated_at,
        stated_from, stated_to, valid_from, valid_from_at, valid_to, valid_to_at, via, status, first_seq, recorded_at, report_id)
     select 'clm_' || lpad(to_hex(1000000 + i), 24, '0'), 1000000 + i, '${T0}', 'bulk-' || (i % 400),
            (array['killed','wounded','missing'])[1 + i % 3], 'source-' || (i % 50), 'persons',
            jsonb_build_object('kind', 'exact', 'value', i), i, i, i, 'exact@1', '2025-02-01',
            '2025-02-01', '2025-02-02', '2025-02-01', '2025-02-01', '2025-02-01', '2025-02-02', '[]', 'active',
            1000000 + i, '${T0}', 'rpt_bulk'
       from generate_series(1, ${BULK_ROWS}) i`,
  );
  await admin.query(`analyze ${s}.claim_versions, ${s}.claim_citations, ${s}.sources, ${s}.reports`);
}

interface Started {
  url: string;
  appName: string;
  query: Awaited<ReturnType<typeof createQueryApp>>;
  stop(): Promise<void>;
}
const started: Started[] = [];

/** The query service over this file's database, listening on a free port, with its own pool. */
async function startQuery(o: { timeoutMs?: number; limits?: QueryLimitsOverride } = {}): Promise<Started> {
  const appName = `ct-bounded-${started.length}-${env.id}`;
  const { db } = createDb({
    url: env.databaseUrl,
    max: 16,
    readOnly: true,
    applicationName: appName,
    ...(o.timeoutMs === undefined ? {} : { statementTimeoutMs: o.timeoutMs }),
  });
  const query = await createQueryApp({
    db,
    logger: createLogger('query-test', 'silent'),
    tokens: createPgTokenStore(db, env.schema),
    settings: {
      metaSchema: env.schema,
      requireReadToken: false,
      ratePerMinute: 1_000_000,
      ...(o.timeoutMs === undefined ? {} : { readTimeoutMs: o.timeoutMs }),
      ...(o.limits ? { limits: o.limits } : {}),
    },
  });
  await query.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = query.app.server.address() as { port: number };
  const s: Started = {
    url: `http://127.0.0.1:${port}`,
    appName,
    query,
    async stop() {
      await query.close();
      await db.destroy();
    },
  };
  started.push(s);
  return s;
}

async function get(base: string, path: string) {
  const res = await fetch(`${base}${path}`);
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body };
}

/** Holds an ACCESS EXCLUSIVE lock on claim_versions until released: every read of it waits. */
async function lockClaimVersions() {
  const c = new pg.Client({ connectionString: env.databaseUrl });
  await c.connect();
  await c.query('begin');
  await c.query(`lock table ${RM()}.claim_versions in access exclusive mode`);
  return {
    async release() {
      await c.query('rollback');
      await c.end();
    },
  };
}

/** Statements of an application_name running now (not idle), as pg_stat_activity shows them. */
async function activeStatements(appName: string): Promise<string[]> {
  const r = await admin.query<{ query: string }>(
    `select query from pg_stat_activity where application_name = $1 and state = 'active'`,
    [appName],
  );
  return r.rows.map((x) => x.query);
}

/** Statements of an application_name waiting for a lock (pg_stat_activity shows only a statement's first 1 kB). */
async function lockWaits(appName: string): Promise<number> {
  const r = await admin.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity
      where application_name = $1 and state = 'active' and wait_event_type = 'Lock'`,
    [appName],
  );
  return r.rows[0]!.n;
}

async function until(what: string, cond: () => Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Series = {
  source: { id: string };
  points: { claimId: string; status: string; statedAt: string; supersededBy?: string }[];
}[];

/** Pages joined as a client joins them: a source's points on several pages make one series. */
function joinSeries(pages: { series: Series }[]): Series {
  const bySource = new Map<string, Series[number]>();
  for (const p of pages)
    for (const s of p.series) {
      const joined = bySource.get(s.source.id);
      if (joined) joined.points.push(...s.points);
      else bySource.set(s.source.id, { ...s, points: [...s.points] });
    }
  return [...bySource.values()];
}

async function allPages(base: string, path: string) {
  const pages: any[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const r = await get(base, cursor === null ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    pages.push(r.body);
    cursor = r.body.nextCursor;
  } while (cursor !== null && pages.length < 1000);
  return pages;
}

beforeAll(async () => {
  env = await createTestEnv('boundedreads');
  admin = new pg.Client({ connectionString: env.databaseUrl });
  await admin.connect();
  await seed();
});
afterAll(async () => {
  for (const s of started) await s.stop().catch(() => undefined);
  await admin?.end();
  await env?.cleanup();
});

describe('pagination', () => {
  let q: Started;
  beforeAll(async () => {
    q = await startQuery();
  });

  it.each([
    ['now', ''],
    ['now, with retracted points', 'includeRetracted=true'],
    ['now, two sources', 'source=source-1&source=source-3'],
    ['now, a window', 'from=2025-01-04&to=2025-01-09'],
    ['before the corrections and retractions', `knownAt=${BEFORE_T1}`],
    ['before them, with retracted points', `knownAt=${BEFORE_T1}&includeRetracted=true`],
  ])('history pages joined equal one big answer, statuses included (%s)', async (_what, qs) => {
    const path = `/v1/topics/paged/metrics/killed/history?${qs}`;
    const whole = await get(q.url, `${path}&limit=50000`);
    expect(whole.status).toBe(200);
    expect(whole.body.nextCursor).toBeNull();
    const pages = await allPages(q.url, `${path}&limit=7`);
    expect(pages.length).toBeGreaterThan(3);
    for (const p of pages.slice(0, -1))
      expect(p.series.reduce((n: number, s: Series[number]) => n + s.points.length, 0)).toBe(7);
    expect(joinSeries(pages)).toEqual(whole.body.series);
    expect(new Set(pages.map((p) => p.unit))).toEqual(new Set([whole.body.unit]));

    // Of each source's points not retracted, one stands and keeps its status: of its newest day's
    // (all exact figures, equally precise), the earliest recorded. The others are superseded by it.
    for (const s of whole.body.series as Series) {
      const live = s.points.filter((p) => p.status !== 'retracted');
      if (live.length === 0) continue;
      const newestDay = live.at(-1)!.statedAt;
      const stands = live.find((p) => p.statedAt === newestDay)!;
      expect(['active', 'corrected']).toContain(stands.status);
      expect(stands.supersededBy).toBeUndefined();
      for (const p of live.filter((x) => x !== stands))
        expect([p.claimId, p.status, p.supersededBy]).toEqual([p.claimId, 'superseded', stands.claimId]);
    }
  });

  it('keeps today’s small answers whole: the default page holds 10,000 points', async () => {
    const h = await get(q.url, '/v1/topics/paged/metrics/killed/history?includeRetracted=true');
    expect(h.body.nextCursor).toBeNull();
    expect(h.body.series.reduce((n: number, s: Series[number]) => n + s.points.length, 0)).toBe(120);
  });

  it.each(['now', 'knownAt'])('topics pages joined equal one big answer (%s)', async (when) => {
    const at = when === 'now' ? '' : `knownAt=${encodeURIComponent(BEFORE_T1)}&`;
    const whole = await get(q.url, `/v1/topics?${at}limit=1000`);
    expect(whole.status).toBe(200);
    expect(whole.body.topics).toHaveLength(401);
    expect(whole.body.nextCursor).toBeNull();
    const pages = await allPages(q.url, `/v1/topics?${at}limit=60`);
    expect(pages).toHaveLength(7);
    expect(pages.flatMap((p) => p.topics)).toEqual(whole.body.topics);
    const byDefault = await get(q.url, `/v1/topics?${at.replace(/&$/, '')}`);
    expect(byDefault.body.topics).toHaveLength(100);
    expect(typeof byDefault.body.nextCursor).toBe('string');
  });

  it.each([
    ['/v1/topics/paged/metrics/killed/history?cursor=not-a-cursor!'],
    ['/v1/topics/paged/metrics/killed/history?cursor=eyJrIjoidG9waWNzIiwiYWZ0ZXIiOiJ4In0'],
    ['/v1/topics?cursor=bm9wZQ'],
    ['/v1/topics?limit=1001'],
    ['/v1/topics/paged/metrics/killed/history?limit=50001'],
  ])('refuses %s naming the parameter', async (path) => {
    const r = await get(q.url, path);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(
      path.includes('limit=') ? 'query:/limit' : 'query:/cursor',
    );
  });
});

describe('the statement timeout', () => {
  it('answers a read that takes longer than CLAIMTRAIL_READ_TIMEOUT_MS 503 with Retry-After', async () => {
    const q = await startQuery({ timeoutMs: 50 });
    const lock = await lockClaimVersions();
    try {
      for (const path of [
        '/v1/topics/paged/metrics/killed/history',
        '/v1/topics',
        '/v1/topics?knownAt=2025-07-01T00:00:00Z',
      ]) {
        const t0 = Date.now();
        const r = await get(q.url, path);
        expect(r.status, path).toBe(503);
        expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(r.body.detail).toMatch(/took longer than the limit of 50 ms/);
        expect(Date.now() - t0).toBeLessThan(3000);
      }
    } finally {
      await lock.release();
    }
    // The pool is whole afterwards.
    expect((await get(q.url, '/v1/topics/paged/metrics/killed/history')).status).toBe(200);
  });

  it('stops a read of a large data set that takes longer (every topic at an instant, 50 ms)', async () => {
    const q = await startQuery({ timeoutMs: 50 });
    const r = await get(q.url, `/v1/topics?knownAt=2025-07-01T00:00:00Z&limit=1000`);
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe('a client that goes away', () => {
  it('has its statement cancelled: pg_stat_activity shows it gone within a second', async () => {
    const q = await startQuery({ timeoutMs: 60_000 });
    const lock = await lockClaimVersions();
    try {
      const gone = new AbortController();
      const pending = fetch(`${q.url}/v1/topics/paged/metrics/killed/history`, { signal: gone.signal }).catch(
        (err: unknown) => err,
      );
      await until('the history statement is waiting for the lock', async () => (await lockWaits(q.appName)) > 0);
      const t0 = Date.now();
      gone.abort();
      await pending;
      await until('the statement is gone', async () => (await activeStatements(q.appName)).length === 0, 5000);
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      await lock.release();
    }
    expect((await get(q.url, '/v1/topics/paged/metrics/killed/history')).status).toBe(200);
  });
});

describe('the bound on reads in flight', () => {
  it('answers reads beyond a lane 503 with Retry-After, never 500, while the history keeps its own lane', async () => {
    const q = await startQuery({
      limits: { readsInFlight: 4, laneWaitMs: 300, lanes: { topics: { concurrency: 1, queue: 2 } } },
    });
    // Every request its own instant: no two share an answer, each is one read of all 150k rows.
    const flood = Array.from({ length: 40 }, (_, i) =>
      get(q.url, `/v1/topics?knownAt=${encodeURIComponent(new Date(Date.UTC(2025, 6, 1, 0, 0, i)).toISOString())}`),
    );
    await until('the topics lane is full', () => Promise.resolve(q.query.lanes.stats().lanes.topics.active === 1));
    const t0 = Date.now();
    const history = await get(q.url, '/v1/topics/paged/metrics/killed/history');
    const historyMs = Date.now() - t0;
    const answers = await Promise.all(flood);
    expect(history.status).toBe(200);
    expect(historyMs).toBeLessThan(2000);
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    const refused = answers.filter((a) => a.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(30);
    for (const r of refused) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.body.detail).toMatch(/too many reads of topics in flight/);
    }
    expect(statuses).toContain(200);
  });

  it('shares one statement among identical requests for the topics of now', async () => {
    const q = await startQuery({
      limits: { lanes: { topics: { concurrency: 1, queue: 0 } } },
    });
    // With no queue, a second statement of the topics lane would be refused at once: every
    // request answering 200 shows that they shared one.
    const answers = await Promise.all(Array.from({ length: 200 }, () => get(q.url, '/v1/topics')));
    expect(answers.map((a) => a.status)).toEqual(Array(200).fill(200));
    expect(new Set(answers.map((a) => JSON.stringify(a.body.topics))).size).toBe(1);
    expect(q.query.lanes.stats().rejected).toBe(0);
  });
});

describe('live streams', () => {
  /** Opens /v1/live and resolves once the stream's first line came, or with the refusal. */
  function open(
    base: string,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; close(): void }> {
    return new Promise((resolve, reject) => {
      const req = http.get(`${base}/v1/live`, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
          if (res.statusCode === 200 && body.includes('retry:'))
            resolve({ status: 200, headers: res.headers, body, close: () => req.destroy() });
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, close: () => undefined }),
        );
      });
      req.on('error', reject);
    });
  }

  it('caps the streams one address holds: past it, 429 with Retry-After; a closed one frees a place', async () => {
    const q = await startQuery({ limits: { liveStreamsPerClient: 2 } });
    const a = await open(q.url);
    const b = await open(q.url);
    expect([a.status, b.status]).toEqual([200, 200]);
    const c = await open(q.url);
    expect(c.status).toBe(429);
    expect(c.headers['retry-after']).toMatch(/^\d+$/);
    expect(c.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(c.body).detail).toMatch(/live streams open/);
    a.close();
    let d: Awaited<ReturnType<typeof open>> | undefined;
    await until('a place is free again', async () => {
      d = await open(q.url);
      return d.status === 200;
    });
    b.close();
    d?.close();
  });
});
