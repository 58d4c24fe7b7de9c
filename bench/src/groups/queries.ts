// the history query of one metric (topic `focus`, metric `killed`: 20 sources
// × 1,000 points in the full run's 1,000,000-event read models; 20 × 100 in the 100k ones with
// --quick), current and `knownAt`, through the query service (`node services/query/src/main.ts`
// in a child process, load from another child) at 1 and 32 concurrent clients, and beside it the
// raw SQL that reads the same claim-version rows (one statement, node-postgres, no HTTP).
// And a CSV export of 100,000 points (GET …/history.csv) with the query process's memory during it.
import type pg from 'pg';
import { READ_SESSION_OPTIONS } from '@claimtrail/shared/db';
import type { BenchContext } from '../context.ts';
import { percentile } from '../harness.ts';
import { addFigure, freePort, QUERY_MAIN, runLoad, startChild, type Child } from '../product.ts';
import { FOCUS_METRIC, FOCUS_TOPIC, recordedAtOf } from '../product-events.ts';
import { catchupSizes, foldedDataset, sizeLabel } from './projector.ts';

const CLIENTS = [1, 32];

/** The CSV export's topic: CSV_ROWS points of 50 sources, written for it (the focus series holds 20,000 at most). */
const CSV_TOPIC = 'bench-csv-export';
const CSV_ROWS = 100_000;

/**
 * Writes CSV_ROWS current claim versions of topic CSV_TOPIC (metric FOCUS_METRIC, 50 sources with
 * names, one point in three cited once) straight into the read models; returns how to remove them.
 */
async function writeCsvTopic(pool: pg.Pool, schema: string): Promise<() => Promise<void>> {
  const t = (name: string) => `"${schema}".${name}`;
  const id = `'clm_' || lpad(to_hex(4026531840 + i), 24, '0')`;
  await pool.query(
    `insert into ${t('sources')} (source_id, seq_from, known_from, name)
       select 'bench-csv-' || i, 1, now(), 'Source ' || i || ', "CSV"' from generate_series(0, 49) i`,
  );
  await pool.query(
    `insert into ${t('claim_versions')}
       (claim_id, seq_from, known_from, topic, metric, source_id, unit, value, low, best, high, rule, stated_at,
        stated_from, stated_to, valid_from, valid_from_at, valid_to, valid_to_at, quote, via, status, first_seq,
        recorded_at, report_id, corrected)
     select ${id}, 4026531840 + i, now(), $1, $2, 'bench-csv-' || (i % 50), 'persons',
            jsonb_build_object('kind', 'approx', 'value', i), i * 0.95, i, i * 1.05, 'approx-5pct@1', d::text,
            d, d + interval '1 day' - interval '1 ms', d::text, d, d::text, d + interval '1 day' - interval '1 ms',
            case when i % 10 = 0 then 'about ' || i || ', the ministry said' end, '[]', 'active', 4026531840 + i,
            now(), 'bench-csv', false
       from generate_series(1, ${CSV_ROWS}) i, lateral (select date '2020-01-01' + (i % 2000) as d) x`,
    [CSV_TOPIC, FOCUS_METRIC],
  );
  await pool.query(
    `insert into ${t('reports')} (report_id, seq, known_at, url, publisher, published_at, published_from, published_to)
       values ('bench-csv', 4026531840, now(), 'https://example.org/bench-csv', 'bench', '2020-01-01', '2020-01-01', '2020-01-02')`,
  );
  await pool.query(
    `insert into ${t('claim_citations')} (claim_id, seq, known_at, report_id, echo, via)
       select ${id}, 4026531840 + ${CSV_ROWS} + i, now(), 'bench-csv', false, '[]' from generate_series(1, ${CSV_ROWS}, 3) i`,
  );
  await pool.query(`analyze ${t('claim_versions')}, ${t('claim_citations')}`);
  return async () => {
    await pool.query(`delete from ${t('claim_citations')} where report_id = 'bench-csv'`);
    await pool.query(`delete from ${t('reports')} where report_id = 'bench-csv'`);
    await pool.query(`delete from ${t('claim_versions')} where topic = $1`, [CSV_TOPIC]);
    await pool.query(`delete from ${t('sources')} where source_id like 'bench-csv-%'`);
  };
}

/** One export read to its end as a client reads it; its rows are its lines but the header. */
async function exportCsv(url: string, query = ''): Promise<{ rows: number; seconds: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/topics/${CSV_TOPIC}/metrics/${FOCUS_METRIC}/history.csv${query}`);
  if (res.status !== 200) throw new Error(`CSV export answered ${res.status}: ${await res.text()}`);
  let lines = 0;
  let bytes = 0;
  const reader = res.body!.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    const chunk = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
  }
  return { rows: lines - 1, seconds: (performance.now() - t0) / 1000, bytes };
}

/** The first tenth of CSV_TOPIC's points (statedAt within its first 200 of 2,000 days): 10,050 of them. */
const CSV_TENTH = '?to=2020-07-19';

/**
 * queries.history.csv.100k: rows/s of a 100,000-point CSV export, and the query process's memory:
 * its peak (VmHWM) after exports of the first tenth of the points and after exports of all of
 * them, and the peak less its resident memory before. Run first, while the process has answered
 * nothing else, so that the peaks are the exports'. Memory flat in the export's size: the 100k
 * exports' peak above the 10k exports' (`queries.history.csv.size-growth`).
 */
async function measureCsvExport(ctx: BenchContext, url: string, server: Child, schema: string): Promise<void> {
  const pool = await ctx.pool(1);
  const remove = await writeCsvTopic(pool, schema);
  try {
    const rssBefore = server.rssMb();
    let tenthRows = 0;
    for (let rep = 1; rep <= ctx.reps; rep++) tenthRows = (await exportCsv(url, CSV_TENTH)).rows;
    const tenthPeak = server.peakRssMb();
    const rates: number[] = [];
    let bytes = 0;
    for (let rep = 1; rep <= ctx.reps; rep++) {
      const r = await exportCsv(url);
      if (r.rows !== CSV_ROWS) throw new Error(`the CSV export held ${r.rows} rows, not ${CSV_ROWS}`);
      rates.push(r.rows / r.seconds);
      bytes = r.bytes;
    }
    const peak = server.peakRssMb();
    const note = `GET /v1/topics/${CSV_TOPIC}/metrics/${FOCUS_METRIC}/history.csv: ${CSV_ROWS.toLocaleString('en-US')} points of 50 sources written into the read models for it (${(bytes / 2 ** 20).toFixed(1)} MiB of CSV), read to the end by one client`;
    addFigure(ctx, 'queries.history.csv.100k', 'rows/s', rates, note);
    addFigure(
      ctx,
      'queries.history.csv.100k.peak-rss',
      'MB',
      [peak],
      `VmHWM of the query process after ${ctx.reps} exports of ${tenthRows.toLocaleString('en-US')} points (${CSV_TENTH}) and ${ctx.reps} of all`,
    );
    addFigure(
      ctx,
      'queries.history.csv.100k.rss-growth',
      'MB',
      [peak - rssBefore],
      `VmHWM of the query process after the exports less its VmRSS before them (${rssBefore.toFixed(0)} MB, ready, nothing answered)`,
    );
    addFigure(
      ctx,
      'queries.history.csv.size-growth',
      'MB',
      [peak - tenthPeak],
      `VmHWM after the exports of all ${CSV_ROWS.toLocaleString('en-US')} points less VmHWM after those of the first ${tenthRows.toLocaleString('en-US')} (${tenthPeak.toFixed(0)} MB): what ten times the rows adds to the peak`,
    );
  } finally {
    await remove();
  }
}

/**
 * The rows of the history answer straight from the tables, current or visible at `knownAt`: with
 * `reports`, each point joined with its citations and their reports and its source (one flat row
 * per citation, what the answer holds); without, the claim-version rows alone.
 */
function rawSql(schema: string, knownAt: string | undefined, reports: boolean): { text: string; values: unknown[] } {
  const visible = knownAt
    ? `cv.known_from <= $3::timestamptz and (cv.known_to is null or cv.known_to > $3::timestamptz)`
    : `cv.seq_to is null`;
  const sVisible = knownAt
    ? `s.known_from <= $3::timestamptz and (s.known_to is null or s.known_to > $3::timestamptz)`
    : `s.seq_to is null`;
  // Every column of the claim that the answer holds, what the source said beside the figure included.
  const columns = `cv.claim_id, cv.seq_from, cv.source_id, cv.unit, cv.value, cv.low, cv.best, cv.high, cv.rule, cv.stated_at,
                  cv.stated_from, cv.valid_from, cv.valid_to, cv.quote, cv.via, cv.status, cv.first_seq, cv.recorded_at,
                  cv.confidence, cv.likelihood, cv.note, cv.corrected`;
  const text = reports
    ? `select ${columns}, s.name, s.kind, s.country, r.report_id, r.url, r.publisher, r.published_at, r.title, r.kind
         from "${schema}".claim_versions cv
         left join "${schema}".sources s on s.source_id = cv.source_id and ${sVisible}
         left join "${schema}".claim_citations c on c.claim_id = cv.claim_id ${knownAt ? 'and c.known_at <= $3::timestamptz' : ''}
         left join "${schema}".reports r on r.report_id = c.report_id
        where cv.topic = $1 and cv.metric = $2 and ${visible}
        order by cv.stated_from, cv.first_seq, c.seq`
    : `select ${columns} from "${schema}".claim_versions cv
        where cv.topic = $1 and cv.metric = $2 and ${visible}
        order by cv.stated_from, cv.first_seq`;
  return { text, values: knownAt ? [FOCUS_TOPIC, FOCUS_METRIC, knownAt] : [FOCUS_TOPIC, FOCUS_METRIC] };
}

async function timeRaw(pool: pg.Pool, q: { text: string; values: unknown[] }, clients: number, requests: number) {
  const lat: number[] = [];
  let rows = 0;
  let next = 0;
  const worker = async () => {
    while (next++ < requests) {
      const t0 = performance.now();
      const r = await pool.query(q);
      lat.push(performance.now() - t0);
      rows = r.rowCount ?? 0;
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  return { lat, rows };
}

/**
 * The synthetic reports are published on the 15th of a month of 2025, a twelfth of them each
 * (synthetic-events.ts): by 15 November, eleven of the twelve dates count.
 */
const PUBLISHED_BY = '2025-11-15';

export async function runQueries(ctx: BenchContext): Promise<void> {
  const { large } = catchupSizes(ctx.quick);
  const data = await foldedDataset(ctx, large);
  const schema = `${data.p.base}_rm`;
  // An instant 90 % into the stream: most points exist, some later corrections do not yet.
  const knownAt = recordedAtOf(Math.floor(large * 0.9));
  const port = await freePort();
  const server = startChild(ctx, 'query', QUERY_MAIN, [], { ...data.p.env, QUERY_PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (server.proc.exitCode !== null || i > 300) throw new Error(`query service did not start: ${server.stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await measureCsvExport(ctx, url, server, schema);
  // The raw SQL runs with the query service's session settings (work_mem), so that the ratio
  // compares the service's work with the same statement's, not two Postgres configurations.
  const pool = await ctx.pool(32, READ_SESSION_OPTIONS);
  // The whole series in one page (20,000 points at 1M events; a page holds 10,000 by default).
  const path = `/v1/topics/${FOCUS_TOPIC}/metrics/${FOCUS_METRIC}/history?limit=50000`;
  const dataset = `${sizeLabel(large)}-event read models (${FOCUS_TOPIC}/${FOCUS_METRIC}: 20 sources × ${large / 1000} points)`;

  for (const clients of CLIENTS) {
    // c1: 5 requests a rep, ctx.reps reps;
    // c32: one wave of 32 concurrent requests a rep (one rep in the full run: a wave of 20k-point
    // answers takes ~15 s on 2 cores).
    const requests = clients === 1 ? 5 : 32;
    const reps = clients === 1 ? ctx.reps : 1;
    for (const kind of ['current', 'knownat', 'publishedby'] as const) {
      const p50: number[] = [];
      const p99: number[] = [];
      let rows = 0;
      let retried = 0;
      const fullPath =
        kind === 'current'
          ? path
          : kind === 'knownat'
            ? `${path}&knownAt=${encodeURIComponent(knownAt)}`
            : `${path}&publishedBy=${PUBLISHED_BY}`;
      for (let rep = 1; rep <= reps; rep++) {
        const r = await runLoad(ctx, {
          mode: 'get',
          url,
          clients,
          paths: [fullPath],
          requests,
          warmupRequests: clients === 1 ? 2 : 0,
        });
        if (r.errors > 0)
          throw new Error(`${r.errors} of ${r.requests} history requests failed: ${r.errorSamples.join(' | ')}`);
        p50.push(percentile(r.latenciesMs, 50));
        p99.push(percentile(r.latenciesMs, 99));
        rows = r.rows ?? 0;
        retried += r.retried ?? 0;
      }
      // With more clients than the history's lane takes (docs/query-limits.md), some are refused
      // (503) and retried after a second: the latency is the client's, from the first attempt.
      const shown = {
        current: path,
        knownat: `${path}&knownAt=<90 % into the stream>`,
        publishedby: `${path}&publishedBy=${PUBLISHED_BY} (11 of the 12 publication dates)`,
      }[kind];
      const note = `GET ${shown} on ${dataset}, ${rows} points returned, ${clients} client(s) × ${requests} requests a rep${retried > 0 ? `, ${retried} answers 503 past the lane's bound retried after 1 s` : ''}`;
      addFigure(ctx, `queries.history.${kind}.c${clients}.p50`, 'ms', p50, note);
      addFigure(ctx, `queries.history.${kind}.c${clients}.p99`, 'ms', p99, note);
    }
    for (const [kind, reports] of [
      ['current', true],
      ['knownat', true],
      ['current', false],
    ] as const) {
      const q = rawSql(schema, kind === 'current' ? undefined : knownAt, reports);
      const p50: number[] = [];
      let rows = 0;
      if (clients === 1) await timeRaw(pool, q, 1, 1); // warm-up
      for (let rep = 1; rep <= reps; rep++) {
        const r = await timeRaw(pool, q, clients, requests);
        p50.push(percentile(r.lat, 50));
        rows = r.rows;
      }
      const name = `queries.history.${reports ? 'rawsql' : 'rawsql-points'}${kind === 'knownat' ? '-knownat' : ''}.c${clients}.p50`;
      const what = reports
        ? `each point with its source, citations and reports: ${rows} flat rows`
        : `the ${rows} claim-version rows alone (no source, citations or reports)`;
      addFigure(ctx, name, 'ms', p50, `one SELECT, node-postgres, pool of ${clients}, no HTTP: ${what}`);
    }
  }
  await server.stop();
}
