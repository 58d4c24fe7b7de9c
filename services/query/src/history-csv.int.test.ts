// The history as CSV (GET …/history.csv, and Accept: text/csv on the JSON path), over read models
// written straight into Postgres (what is tested is how the service reads and writes them): the
// columns, RFC 4180 quoting, the same points as the JSON history for the same filters, the 404s
// and 400s as problem+json, a large export streamed whole, and a client that goes away.
import http from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@claimtrail/shared';
import { createDb, defaultReadSchemaOf } from '@claimtrail/shared/db';
import { tokenHash } from '@claimtrail/shared/identity';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { createPgTokenStore, createQueryApp } from './query.app.ts';

let env: TestEnv;
let admin: pg.Client;
let base: string;
let query: Awaited<ReturnType<typeof createQueryApp>>;
let stopDb: () => Promise<void>;
const RM = () => defaultReadSchemaOf(env.schema);

const T0 = '2025-06-01T00:00:00.000Z';
/** When the corrections and retractions became known. */
const T1 = '2025-06-02T00:00:00.000Z';
const BEFORE_T1 = '2025-06-01T12:00:00Z';
const BIG = 20_000;

const COLUMNS =
  'topic,metric,source_id,source_name,claim_id,stated_at,valid_from,valid_to,kind,value,low,best,high,unit,' +
  'status,corrected,superseded_by,confidence,likelihood,note,recorded_at,seq,report_urls,quote';

const HARD_QUOTE = 'He said "about 300, maybe more"\nand left,\r\nthen "nothing"';

function claimIdOf(seq: number) {
  return `clm_${seq.toString(16).padStart(24, '0')}`;
}

function version(seq: number, o: Record<string, unknown>) {
  const statedAt = (o.stated_at as string | undefined) ?? '2025-01-01';
  const value = (o.value as { kind: string; value?: number } | undefined) ?? { kind: 'exact', value: seq };
  const low = (o.low as number | undefined) ?? value.value ?? null;
  return {
    claim_id: claimIdOf(seq),
    seq_from: seq,
    seq_to: null,
    known_from: T0,
    known_to: null,
    topic: 'war',
    metric: 'killed',
    source_id: 'src-a',
    unit: 'persons',
    value,
    low,
    best: value.value ?? null,
    high: (o.high as number | undefined) ?? value.value ?? null,
    rule: 'exact@1',
    stated_at: statedAt,
    stated_from: `${statedAt}T00:00:00Z`,
    stated_to: `${statedAt}T23:59:59.999Z`,
    valid_from: statedAt,
    valid_from_at: `${statedAt}T00:00:00Z`,
    valid_to: statedAt,
    valid_to_at: `${statedAt}T23:59:59.999Z`,
    quote: null,
    via: [],
    status: 'active',
    first_seq: seq,
    recorded_at: T0,
    report_id: 'rpt_1',
    confidence: null,
    likelihood: null,
    note: null,
    corrected: false,
    ...o,
  };
}

async function seed() {
  const s = RM();
  const versions = [
    // src-a: three figures, the newest stands over the others.
    version(1, { stated_at: '2025-01-03', quote: HARD_QUOTE, confidence: 'high', likelihood: 'likely' }),
    version(2, {
      stated_at: '2025-01-05',
      value: { kind: 'range', low: 10, high: 30 },
      low: 10,
      high: 30,
      note: '=HYPERLINK("http://evil")',
    }),
    version(3, { stated_at: '2025-01-09', value: { kind: 'approx', value: 300 }, low: 285, high: 315 }),
    // src-b: one corrected (from T1), one retracted (from T1), one stated later.
    version(4, { source_id: 'src-b', stated_at: '2025-01-04', seq_to: 104, known_to: T1 }),
    version(104, {
      claim_id: claimIdOf(4),
      first_seq: 4,
      source_id: 'src-b',
      stated_at: '2025-01-04',
      known_from: T1,
      status: 'corrected',
      corrected: true,
      value: { kind: 'exact', value: 44 },
      low: 44,
      high: 44,
    }),
    version(5, { source_id: 'src-b', stated_at: '2025-01-06', seq_to: 105, known_to: T1, quote: '-12 in a day' }),
    version(105, {
      claim_id: claimIdOf(5),
      first_seq: 5,
      source_id: 'src-b',
      stated_at: '2025-01-06',
      known_from: T1,
      status: 'retracted',
      quote: '-12 in a day',
    }),
    version(6, { source_id: 'src-b', stated_at: '2025-01-12', value: { kind: 'at_least', value: 50 }, high: null }),
  ];
  // Topic `daily`, metric `strikes` (incremental): figures per day, two for one day (one stands
  // over the other), figures whose printing differs between numeric and JavaScript, free text a
  // spreadsheet would take for a formula.
  await admin.query(
    `insert into ${s}.metrics (metric, seq_from, known_from, label, unit, aggregation)
       values ('strikes', 1, '${T0}', 'Strikes', 'strikes', 'incremental')`,
  );
  const daily = (seq: number, o: Record<string, unknown>) =>
    version(seq, { topic: 'daily', metric: 'strikes', unit: 'strikes', rule: 'exact@1', ...o });
  const dailyVersions = [
    daily(301, { stated_at: '2025-02-01', value: { kind: 'exact', value: 0.000001 }, low: 0.000001, high: 0.000001 }),
    daily(302, { stated_at: '2025-02-01', value: { kind: 'exact', value: 1e15 }, low: 1e15, high: 1e15 }),
    daily(303, {
      stated_at: '2025-02-02',
      value: { kind: 'approx', value: 3 },
      low: 2.8499999999999996,
      high: 3.1500000000000004,
      likelihood: '+likely',
      note: '\tindented',
    }),
    daily(304, {
      stated_at: '2025-02-03',
      source_id: 'src-b',
      value: { kind: 'range', low: 123456789012345.12, best: 123456789012345.5, high: 123456789012346 },
      low: 123456789012345.12,
      best: 123456789012345.5,
      high: 123456789012346,
      quote: 'a "quoted", comma\r\nand a new line',
    }),
  ];
  await admin.query(
    `insert into ${s}.claim_versions (${Object.keys(dailyVersions[0]!).join(', ')})
       select ${Object.keys(dailyVersions[0]!).join(', ')} from json_populate_recordset(null::${s}.claim_versions, $1)`,
    [JSON.stringify(dailyVersions)],
  );
  await admin.query(
    `insert into ${s}.claim_citations (claim_id, seq, known_at, report_id, echo, via)
       values ('${claimIdOf(301)}', 401, '${T0}', 'rpt_1', false, '[]'), ('${claimIdOf(302)}', 402, '${T0}', 'rpt_2', false, '[]'),
              ('${claimIdOf(303)}', 403, '${T0}', 'rpt_2', false, '[]'), ('${claimIdOf(303)}', 404, '${T0}', 'rpt_1', true, '[]')`,
  );
  // Topic `turns`: a retraction newer than the figure that stands (src-a), a source whose every
  // figure is retracted (src-b), two figures of one day where the more precise stands though
  // recorded later (src-c).
  const turns = (seq: number, o: Record<string, unknown>) => version(seq, { topic: 'turns', ...o });
  const turnsVersions = [
    turns(501, { stated_at: '2025-03-01' }),
    turns(502, { stated_at: '2025-03-05', status: 'retracted' }),
    turns(503, { stated_at: '2025-02-01' }),
    turns(504, { source_id: 'src-b', stated_at: '2025-03-02', status: 'retracted' }),
    turns(505, { source_id: 'src-b', stated_at: '2025-03-03', status: 'retracted' }),
    turns(506, {
      source_id: 'src-c',
      stated_at: '2025-03-04',
      value: { kind: 'range', low: 5, high: 9 },
      low: 5,
      high: 9,
    }),
    turns(507, { source_id: 'src-c', stated_at: '2025-03-04', value: { kind: 'exact', value: 7 } }),
  ];
  await admin.query(
    `insert into ${s}.claim_versions (${Object.keys(turnsVersions[0]!).join(', ')})
       select ${Object.keys(turnsVersions[0]!).join(', ')} from json_populate_recordset(null::${s}.claim_versions, $1)`,
    [JSON.stringify(turnsVersions)],
  );
  // The bulk: topic `big`, BIG points of 40 sources over 2024-2025.
  await admin.query(
    `insert into ${s}.checkpoint (name, last_seq, chain_hash) values ('projector', 1000000, 'seeded');
     insert into ${s}.reports (report_id, seq, known_at, url, publisher, published_at, published_from, published_to)
       values ('rpt_1', 1, '${T0}', 'https://x.org/1', 'P', '2025-01-01', '2025-01-01', '2025-01-02'),
              ('rpt_2', 2, '${T0}', 'https://x.org/2?a=1,b=2', 'Q', '2025-01-02', '2025-01-02', '2025-01-03');
     insert into ${s}.sources (source_id, seq_from, known_from, name)
       values ('src-a', 1, '${T0}', 'Source A, "the first"'), ('src-b', 1, '${T0}', '@bee');`,
  );
  const columns = Object.keys(versions[0]!).join(', ');
  await admin.query(
    `insert into ${s}.claim_versions (${columns}) select ${columns} from json_populate_recordset(null::${s}.claim_versions, $1)`,
    [JSON.stringify(versions)],
  );
  await admin.query(
    `insert into ${s}.claim_citations (claim_id, seq, known_at, report_id, echo, via)
       values ('${claimIdOf(1)}', 201, '${T0}', 'rpt_1', false, '[]'), ('${claimIdOf(1)}', 202, '${T0}', 'rpt_2', true, '[]'),
              ('${claimIdOf(3)}', 203, '${T0}', 'rpt_2', false, '[]'), ('${claimIdOf(4)}', 204, '${T1}', 'rpt_1', false, '[]')`,
  );
  await admin.query(
    `insert into ${s}.claim_versions
       (claim_id, seq_from, known_from, topic, metric, source_id, unit, value, low, best, high, rule, stated_at,
        stated_from, stated_to, valid_from, valid_from_at, valid_to, valid_to_at, via, status, first_seq, recorded_at, report_id, corrected)
     select 'clm_' || lpad(to_hex(10000 + i), 24, '0'), 10000 + i, '${T0}', 'big', 'killed', 'src-' || (i % 40), 'persons',
            jsonb_build_object('kind', 'exact', 'value', i), i, i, i, 'exact@1', d::text,
            d, d + interval '1 day' - interval '1 ms', d::text, d, d::text, d + interval '1 day' - interval '1 ms',
            '[]', 'active', 10000 + i, '${T0}', 'rpt_1', false
       from generate_series(1, ${BIG}) i, lateral (select date '2024-01-01' + (i % 700) as d) x`,
  );
  await admin.query(
    `insert into ${s}.claim_citations (claim_id, seq, known_at, report_id, echo, via)
     select 'clm_' || lpad(to_hex(10000 + i), 24, '0'), 100000 + i, '${T0}', 'rpt_1', false, '[]'
       from generate_series(1, ${BIG}, 3) i`,
  );
  await admin.query(`analyze ${s}.claim_versions, ${s}.claim_citations, ${s}.sources, ${s}.reports`);
}

/** RFC 4180 records of a text (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || record.length > 0) throw new Error(`the text does not end with CRLF: ${JSON.stringify(field)}`);
  return records;
}

/** The rows of a CSV answer as objects by column name (the header row checked). */
function rowsOf(text: string): Record<string, string>[] {
  const [header, ...records] = parseCsv(text);
  expect(header!.join(',')).toBe(COLUMNS);
  for (const r of records) expect(r).toHaveLength(header!.length);
  return records.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
}

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

type JsonPoint = {
  claimId: string;
  seq: number;
  statedAt: string;
  validFrom: string;
  validTo: string;
  value: { kind: string; value?: number };
  status: string;
  supersededBy?: string;
  corrected?: true;
  low: number | null;
  best: number | null;
  high: number | null;
  confidence?: string;
  likelihood?: string;
  note?: string;
  quote?: string;
  recordedAt: string;
  reports: { url: string }[];
};

/** Free text as the CSV writes it: a leading =, +, -, @, tab or CR gets an apostrophe. */
const guarded = (v: string | undefined) => (v === undefined ? '' : /^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
const printed = (n: number | null | undefined) => (n === null || n === undefined ? '' : String(n));

/** The JSON history's points in the answer's order (statedAt, seq), as the CSV lists them. */
async function jsonPoints(path: string, qs: string) {
  const r = await get(`${path}?${qs}${qs ? '&' : ''}limit=50000`);
  expect(r.status, r.text).toBe(200);
  const body = JSON.parse(r.text) as {
    unit: string | null;
    series: { source: { id: string; name?: string }; points: JsonPoint[] }[];
  };
  return body.series
    .flatMap((s) => s.points.map((p) => ({ ...p, source: s.source.id, sourceName: s.source.name, unit: body.unit })))
    .sort((a, b) => a.statedAt.localeCompare(b.statedAt) || a.seq - b.seq);
}

beforeAll(async () => {
  env = await createTestEnv('historycsv');
  admin = new pg.Client({ connectionString: env.databaseUrl });
  await admin.connect();
  await seed();
  const { db } = createDb({ url: env.databaseUrl, max: 16, readOnly: true, applicationName: `ct-csv-${env.id}` });
  query = await createQueryApp({
    db,
    logger: createLogger('query-test', 'silent'),
    tokens: createPgTokenStore(db, env.schema),
    settings: { metaSchema: env.schema, requireReadToken: false, ratePerMinute: 1_000_000 },
  });
  await query.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(query.app.server.address() as { port: number }).port}`;
  stopDb = () => db.destroy();
});
afterAll(async () => {
  await query?.close();
  await stopDb?.();
  await admin?.end();
  await env?.cleanup();
});

describe('GET …/history.csv', () => {
  it('answers the contract’s columns, one row per point, with CRLF line ends and a file name', async () => {
    const r = await get('/v1/topics/war/metrics/killed/history.csv');
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="war.killed.history.csv"');
    // The checkpoint it was read at, which the JSON answer carries as asOfSeq and knownAt.
    expect(r.headers.get('x-claimtrail-as-of-seq')).toBe('1000000');
    expect(r.headers.get('x-claimtrail-known-at')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(r.text.startsWith(`${COLUMNS}\r\n`)).toBe(true);
    // Every line break outside a quoted field is CRLF.
    expect(r.text.replaceAll(/"[^"]*(?:""[^"]*)*"/g, '').match(/(?<!\r)\n/g)).toBeNull();
    const rows = rowsOf(r.text);
    expect(rows.map((x) => x.claim_id)).toEqual([1, 4, 2, 3, 6].map(claimIdOf));

    const first = rows[0]!;
    expect(first).toMatchObject({
      topic: 'war',
      metric: 'killed',
      source_id: 'src-a',
      source_name: 'Source A, "the first"',
      stated_at: '2025-01-03',
      valid_from: '2025-01-03',
      valid_to: '2025-01-03',
      kind: 'exact',
      value: '1',
      low: '1',
      best: '1',
      high: '1',
      unit: 'persons',
      status: 'superseded',
      corrected: 'false',
      superseded_by: claimIdOf(3),
      confidence: 'high',
      likelihood: 'likely',
      note: '',
      recorded_at: T0,
      seq: '1',
      report_urls: 'https://x.org/1 https://x.org/2?a=1,b=2',
      quote: HARD_QUOTE,
    });
    // The quote as RFC 4180 writes it: in quotes, its quotes doubled, its line breaks kept.
    expect(r.text).toContain(`"${HARD_QUOTE.replaceAll('"', '""')}"`);
    expect(r.text).toContain('"Source A, ""the first"""');

    const byId = new Map(rows.map((x) => [x.claim_id, x]));
    expect(byId.get(claimIdOf(2))).toMatchObject({ kind: 'range', value: '', low: '10', best: '', high: '30' });
    expect(byId.get(claimIdOf(3))).toMatchObject({ kind: 'approx', value: '300', low: '285', status: 'active' });
    expect(byId.get(claimIdOf(3))!.superseded_by).toBe('');
    expect(byId.get(claimIdOf(4))).toMatchObject({ status: 'superseded', corrected: 'true', value: '44' });
    expect(byId.get(claimIdOf(6))).toMatchObject({ kind: 'at_least', value: '50', high: '', report_urls: '' });
  });

  it('puts an apostrophe before free text a spreadsheet would take for a formula, and only there', async () => {
    const r = await get('/v1/topics/war/metrics/killed/history.csv?includeRetracted=true');
    const byId = new Map(rowsOf(r.text).map((x) => [x.claim_id, x]));
    expect(byId.get(claimIdOf(2))!.note).toBe(`'=HYPERLINK("http://evil")`);
    expect(byId.get(claimIdOf(5))!.quote).toBe(`'-12 in a day`);
    expect(byId.get(claimIdOf(4))!.source_name).toBe(`'@bee`);
    // The stored text is unchanged: the JSON history says it as it was written.
    const json = await jsonPoints('/v1/topics/war/metrics/killed/history', 'includeRetracted=true');
    expect(json.find((p) => p.claimId === claimIdOf(2))).toMatchObject({ note: '=HYPERLINK("http://evil")' });
  });

  it.each([
    ['now', 'war', ''],
    ['with retracted points', 'war', 'includeRetracted=true'],
    ['one source', 'war', 'source=src-b&includeRetracted=true'],
    ['a window', 'war', 'from=2025-01-04&to=2025-01-06'],
    ['before the corrections', 'war', `knownAt=${BEFORE_T1}`],
    ['before them, with retracted points', 'war', `knownAt=${BEFORE_T1}&includeRetracted=true`],
    ['as published by 2025-01-01', 'war', 'publishedBy=2025-01-01'],
    ['an incremental metric, figures numeric and JavaScript print apart', 'daily', ''],
    ['an incremental metric as published by 2025-01-01', 'daily', 'publishedBy=2025-01-01'],
    ['retractions newer than the figure that stands, a source all retracted, a tie', 'turns', 'includeRetracted=true'],
  ])('gives the JSON history’s points for the same filters, every column (%s)', async (_what, topic, qs) => {
    const metric = topic === 'daily' ? 'strikes' : 'killed';
    const path = `/v1/topics/${topic}/metrics/${metric}/history`;
    const json = await jsonPoints(path, qs);
    const r = await get(`${path}.csv?${qs}`);
    expect(r.status, r.text).toBe(200);
    const rows = rowsOf(r.text);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows).toEqual(
      json.map((p) => ({
        topic,
        metric,
        source_id: p.source,
        source_name: guarded(p.sourceName),
        claim_id: p.claimId,
        stated_at: p.statedAt,
        valid_from: p.validFrom,
        valid_to: p.validTo,
        kind: p.value.kind,
        value: printed(p.value.value),
        low: printed(p.low),
        best: printed(p.best),
        high: printed(p.high),
        unit: p.unit ?? '',
        status: p.status,
        corrected: p.corrected ? 'true' : 'false',
        superseded_by: p.supersededBy ?? '',
        confidence: p.confidence ?? '',
        likelihood: guarded(p.likelihood),
        note: guarded(p.note),
        recorded_at: p.recordedAt,
        seq: String(p.seq),
        report_urls: p.reports.map((x) => x.url).join(' '),
        quote: guarded(p.quote),
      })),
    );
  });

  it('says which figure stands past retractions and ties as the JSON history does', async () => {
    const rows = rowsOf((await get('/v1/topics/turns/metrics/killed/history.csv?includeRetracted=true')).text);
    const status = Object.fromEntries(rows.map((x) => [Number(x.seq), [x.status, x.superseded_by]]));
    expect(status).toEqual({
      501: ['active', ''],
      502: ['retracted', ''],
      503: ['superseded', claimIdOf(501)],
      504: ['retracted', ''],
      505: ['retracted', ''],
      506: ['superseded', claimIdOf(507)],
      507: ['active', ''],
    });
  });

  it('prints figures as the JSON answer does and guards every free-text column', async () => {
    const rows = rowsOf((await get('/v1/topics/daily/metrics/strikes/history.csv')).text);
    const byId = new Map(rows.map((x) => [x.claim_id, x]));
    // The same day's two exact figures: the one recorded first stands (supersession.sql.ts).
    expect(byId.get(claimIdOf(301))).toMatchObject({ value: '0.000001', status: 'active' });
    expect(byId.get(claimIdOf(302))).toMatchObject({
      value: '1000000000000000',
      status: 'superseded',
      superseded_by: claimIdOf(301),
    });
    expect(byId.get(claimIdOf(303))).toMatchObject({
      low: '2.8499999999999996',
      high: '3.1500000000000004',
      likelihood: "'+likely",
      note: "'\tindented",
      report_urls: 'https://x.org/2?a=1,b=2 https://x.org/1',
    });
    expect(byId.get(claimIdOf(304))).toMatchObject({
      kind: 'range',
      value: '',
      low: '123456789012345.12',
      best: '123456789012345.5',
      high: '123456789012346',
      quote: 'a "quoted", comma\r\nand a new line',
    });
  });

  it('answers the same CSV to Accept: text/csv on the JSON path', async () => {
    const qs = `knownAt=${BEFORE_T1}&includeRetracted=true`;
    const csv = await get(`/v1/topics/war/metrics/killed/history.csv?${qs}`);
    const accepted = await get(`/v1/topics/war/metrics/killed/history?${qs}`, { accept: 'text/csv' });
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(accepted.text).toBe(csv.text);
    // JSON stays the default, and wins when preferred.
    const json = await get(`/v1/topics/war/metrics/killed/history?${qs}`, {
      accept: 'application/json, text/csv;q=0.5',
    });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it.each([
    ['/v1/topics/war/metrics/kiled/history.csv', {}, /metric kiled is unknown/],
    ['/v1/topics/peace/metrics/killed/history.csv', {}, /topic peace is unknown/],
    ['/v1/topics/war/metrics/kiled/history', { accept: 'text/csv' }, /metric kiled is unknown/],
    ['/v1/topics/war/metrics/killed/history.csv?knownAt=2020-01-01T00:00:00Z', {}, /topic war is unknown at/],
  ])('answers %s 404 as problem+json', async (path, headers, detail) => {
    const r = await get(path, headers);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(r.text).detail).toMatch(detail);
  });

  it('answers a known metric with nothing in the window 200 with the header row alone', async () => {
    const r = await get('/v1/topics/war/metrics/killed/history.csv?from=2030');
    expect(r.status).toBe(200);
    expect(r.text).toBe(`${COLUMNS}\r\n`);
  });

  it.each([
    ['/v1/topics/war/metrics/killed/history.csv?from=yesterday', {}, 'query:/from'],
    ['/v1/topics/war/metrics/killed/history.csv?to=2025-13', {}, 'query:/to'],
    ['/v1/topics/war/metrics/killed/history.csv?knownAt=soon', {}, 'query:/knownAt'],
    ['/v1/topics/war/metrics/killed/history.csv?limit=10', {}, 'query:/limit'],
    ['/v1/topics/war/metrics/killed/history?cursor=abc', { accept: 'text/csv' }, 'query:/cursor'],
    ['/v1/topics/war/metrics/killed/history?limit=10', { accept: 'text/csv' }, 'query:/limit'],
  ])('answers %s 400 naming the parameter', async (path, headers, field) => {
    const r = await get(path, headers);
    expect(r.status, r.text).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(JSON.stringify(JSON.parse(r.text).errors)).toContain(field);
  });

  it(`streams a large export whole: ${BIG} rows, in order, each point once`, async () => {
    const res = await fetch(`${base}/v1/topics/big/metrics/killed/history.csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    let chunks = 0;
    let text = '';
    const decoder = new TextDecoder();
    const reader = res.body!.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      chunks++;
      text += decoder.decode(r.value, { stream: true });
    }
    expect(chunks).toBeGreaterThan(10);
    const rows = rowsOf(text);
    expect(rows).toHaveLength(BIG);
    expect(new Set(rows.map((x) => x.claim_id)).size).toBe(BIG);
    const order = rows.map((x) => `${x.stated_at} ${x.seq!.padStart(8, '0')}`);
    expect(order).toEqual([...order].sort());
    // Each of the 40 sources has one standing figure; every other point is superseded by it.
    expect(rows.filter((x) => x.status === 'active')).toHaveLength(40);
    expect(rows.filter((x) => x.status === 'superseded' && x.superseded_by !== '')).toHaveLength(BIG - 40);
    expect(rows.filter((x) => x.report_urls === 'https://x.org/1')).toHaveLength(Math.ceil(BIG / 3));
  });

  it('gives up its read when the client goes away mid-export: the history lane is free again', async () => {
    const gone = new AbortController();
    const res = await fetch(`${base}/v1/topics/big/metrics/killed/history.csv`, { signal: gone.signal });
    const reader = res.body!.getReader();
    await reader.read();
    expect(query.lanes.stats().lanes.history.active).toBe(1);
    gone.abort();
    const end = Date.now() + 5000;
    while (query.lanes.stats().lanes.history.active !== 0 && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    expect(query.lanes.stats().lanes.history.active).toBe(0);
    // The pool is whole afterwards.
    expect((await get('/v1/topics/war/metrics/killed/history.csv')).status).toBe(200);
  });

  it('takes the JSON history’s scope: 401 without a token, 403 without `read`, when reads need a token', async () => {
    const { db } = createDb({ url: env.databaseUrl, max: 4, readOnly: true, applicationName: `ct-csv-auth-${env.id}` });
    const principals = new Map([
      [tokenHash('reader-token'), { principal: 'reader', scopes: ['read'] }],
      [tokenHash('auditor-token'), { principal: 'auditor', scopes: ['audit:read'] }],
    ]);
    const locked = await createQueryApp({
      db,
      logger: createLogger('query-test', 'silent'),
      tokens: { lookup: (hash) => Promise.resolve(principals.get(hash)) },
      settings: { metaSchema: env.schema, requireReadToken: true, ratePerMinute: 1_000_000 },
    });
    try {
      await locked.app.listen({ host: '127.0.0.1', port: 0 });
      const port = (locked.app.server.address() as { port: number }).port;
      const at = (path: string, headers: Record<string, string>) =>
        fetch(`http://127.0.0.1:${port}${path}`, { headers }).then(async (r) => ({
          status: r.status,
          type: r.headers.get('content-type'),
          text: await r.text(),
        }));
      for (const [path, accept] of [
        ['/v1/topics/war/metrics/killed/history.csv', '*/*'],
        ['/v1/topics/war/metrics/killed/history', 'text/csv'],
      ] as const) {
        const anonymous = await at(path, { accept });
        expect([anonymous.status, anonymous.type]).toEqual([401, expect.stringMatching(/^application\/problem\+json/)]);
        const auditor = await at(path, { accept, authorization: 'Bearer auditor-token' });
        expect([auditor.status, auditor.type]).toEqual([403, expect.stringMatching(/^application\/problem\+json/)]);
        const reader = await at(path, { accept, authorization: 'Bearer reader-token' });
        expect([reader.status, reader.type]).toEqual([200, 'text/csv; charset=utf-8']);
        expect(reader.text.startsWith(`${COLUMNS}\r\n`)).toBe(true);
      }
    } finally {
      await locked.close();
      await db.destroy();
    }
  });

  it('stops an export whose client takes nothing past the stall bound: the answer is cut, the lane free', async () => {
    // Topic `fat`: 3,000 points of 10 kB quotes, 30 MB of CSV, more than the buffers between hold.
    await admin.query(
      `insert into ${RM()}.claim_versions
         (claim_id, seq_from, known_from, topic, metric, source_id, unit, value, low, best, high, rule, stated_at,
          stated_from, stated_to, valid_from, valid_from_at, valid_to, valid_to_at, quote, via, status, first_seq,
          recorded_at, report_id, corrected)
       select 'clm_' || lpad(to_hex(900000 + i), 24, '0'), 900000 + i, '${T0}', 'fat', 'killed', 'src-a', 'persons',
              jsonb_build_object('kind', 'exact', 'value', i), i, i, i, 'exact@1', '2025-03-01', '2025-03-01',
              '2025-03-02', '2025-03-01', '2025-03-01', '2025-03-01', '2025-03-02', repeat('x', 10000), '[]', 'active',
              900000 + i, '${T0}', 'rpt_1', false
         from generate_series(1, 3000) i`,
    );
    const { db } = createDb({
      url: env.databaseUrl,
      max: 4,
      readOnly: true,
      applicationName: `ct-csv-stall-${env.id}`,
    });
    const stalled = await createQueryApp({
      db,
      logger: createLogger('query-test', 'silent'),
      tokens: createPgTokenStore(db, env.schema),
      settings: {
        metaSchema: env.schema,
        requireReadToken: false,
        ratePerMinute: 1_000_000,
        limits: { exportStallMs: 300 },
      },
    });
    try {
      await stalled.app.listen({ host: '127.0.0.1', port: 0 });
      const port = (stalled.app.server.address() as { port: number }).port;
      // node:http rather than fetch: it says whether the message came whole (res.complete).
      const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get(`http://127.0.0.1:${port}/v1/topics/fat/metrics/killed/history.csv`, resolve).on('error', reject),
      );
      expect(res.statusCode).toBe(200);
      // The client reads nothing for a while: the buffers between fill and the export stops.
      res.pause();
      const end = Date.now() + 10_000;
      while (stalled.lanes.stats().lanes.history.active !== 0 && Date.now() < end)
        await new Promise((r) => setTimeout(r, 50));
      expect(stalled.lanes.stats().lanes.history.active).toBe(0);
      // What was sent before the stop can still be read, and then the message ends unfinished.
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.resume();
      await new Promise((r) => res.once('close', r));
      expect(res.complete).toBe(false);
      expect(text.split('\r\n').length - 2).toBeLessThan(3000);
    } finally {
      await stalled.close();
      await db.destroy();
    }
  });
});
