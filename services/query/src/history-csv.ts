// A metric's history as CSV (RFC 4180): a header row, one row per point, the points the JSON
// history answers for the same filters (the same rows, historyRows in read-models.ts; the same
// standing claims, supersession.sql.ts). Postgres writes the rows: one COPY … TO STDOUT of one
// statement, whose CSV (written in C) costs a fraction of what turning rows into CSV lines in the
// service did. The service turns COPY's LF record ends into RFC 4180's CRLF and
// writes the bytes as the client takes them: a client that reads slowly holds Postgres back
// through the connection, and memory stays flat whatever the size of the history.
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { escapeLiteral } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { poolOf, type Database } from '@claimtrail/shared/db';
import { UnavailableError } from '@claimtrail/shared/errors';
import { requireKnown } from './known-names.ts';
import { reportCounts, visibleAt, type ReadContext } from './read-context.ts';
import type { Read } from './read-guard.ts';
import { historyRows, type HistoryFilter } from './read-models.ts';
import { aggregationOf, standingClaims, standingKey } from './supersession.sql.ts';

/** The columns, in order (CONTRACT.md, "Reads"). */
export const HISTORY_CSV_COLUMNS = [
  'topic',
  'metric',
  'source_id',
  'source_name',
  'claim_id',
  'stated_at',
  'valid_from',
  'valid_to',
  'kind',
  'value',
  'low',
  'best',
  'high',
  'unit',
  'status',
  'corrected',
  'superseded_by',
  'confidence',
  'likelihood',
  'note',
  'recorded_at',
  'seq',
  'report_urls',
  'quote',
] as const;

/**
 * Free text as a spreadsheet may not take it for a formula: a leading `=`, `+`, `-`, `@`, tab or
 * CR gets a leading apostrophe. Only the free-text columns (source_name, likelihood, note, quote)
 * pass through it; figures and identifiers never do, and what is stored is unchanged. `v` is
 * evaluated twice: a column, not a look-up.
 */
function formulaSafe(v: RawBuilder<unknown>): RawBuilder<string> {
  return sql<string>`case when left(${v}, 1) in ('=', '+', '-', '@', E'\\t', E'\\r') then '''' || ${v} else ${v} end`;
}

/**
 * Whether a point (`p`: its status, claim id and the standing claim of its group) is superseded:
 * what the JSON history's toPoint says (read-models.ts), in SQL.
 */
function supersededSql(p: string): RawBuilder<boolean> {
  const a = sql.ref(p);
  return sql<boolean>`(${a}.status <> 'retracted' and ${a}.standing <> ${a}.claim_id)`;
}

/**
 * The CSV's rows of `q`'s history, in HISTORY_CSV_COLUMNS' order and the history's (statedAt,
 * then seq). Figures as the JSON answer prints them: trim_scale drops the trailing zeros that
 * numeric keeps (`1900.00`), and the figures a claim can hold (at most 1e15, six decimals, written
 * from JavaScript numbers) print as JavaScript prints them. An empty text is null, which COPY
 * writes as an empty field (it quotes an empty string).
 *
 * The plan it is written for: the standing claims worked out once before the first row
 * (standingClaims), the source names once (a jsonb object), the points in the answer's order (an
 * index scan of claim_versions_history, whose first rows come at once; where the points lie
 * scattered over a large table Postgres rather reads and sorts them, as the inner `order by`
 * lets it), then each point's citations by the claim_citations key. The subquery `p` is kept whole
 * (offset 0), so that each look-up runs once a row and after the order is settled.
 */
function exportStatement(ctx: ReadContext, q: HistoryFilter): RawBuilder<unknown> {
  const t = (name: string) => sql.table(`${ctx.schema}.${name}`);
  const aggregation = aggregationOf(ctx, q.metric);
  const figure = (v: RawBuilder<unknown>) => sql`trim_scale(${v})`;
  const free = (column: string) => formulaSafe(sql.ref(`p.${column}`));
  return sql`
    select ${q.topic}::text, ${q.metric}::text, p.source_id, ${free('source_name')},
           p.claim_id, p.stated_at, p.valid_from, p.valid_to, p.value->>'kind',
           ${figure(sql`(p.value->>'value')::numeric`)}, ${figure(sql`p.low`)}, ${figure(sql`p.best`)},
           ${figure(sql`p.high`)}, p.first_unit,
           case when ${supersededSql('p')} then 'superseded' else p.status end,
           case when p.corrected then 'true' else 'false' end,
           case when ${supersededSql('p')} then p.standing end,
           p.confidence, ${free('likelihood')}, ${free('note')},
           to_char(p.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), p.first_seq,
           nullif(p.report_urls, ''), ${free('quote')}
      from (
        select cv.claim_id, cv.source_id, cv.stated_at, cv.valid_from, cv.valid_to, cv.value, cv.low, cv.best,
               cv.high, cv.status, cv.corrected, cv.confidence, nullif(cv.likelihood, '') as likelihood,
               nullif(cv.note, '') as note, cv.recorded_at, cv.first_seq, nullif(cv.quote, '') as quote,
               cv.stated_from,
               ${standingClaims('sc', aggregation, t('claim_versions'), historyRows(ctx, q, 'sc'))}
                 ->> ${standingKey('cv', aggregation)} as standing,
               nullif((select jsonb_object_agg(s.source_id, s.name) from ${t('sources')} s
                        where s.name is not null and ${visibleAt(ctx, 's')}) ->> cv.source_id, '') as source_name,
               array_to_string(array(
                 select r.url from ${t('claim_citations')} c
                   join ${t('reports')} r on r.report_id = c.report_id and ${reportCounts(ctx, 'r')}
                  where c.claim_id = cv.claim_id ${ctx.past ? sql`and c.known_at <= ${ctx.knownAt}::timestamptz` : sql``}
                  order by c.seq), ' ') as report_urls,
               (select u.unit from ${t('claim_versions')} u where ${historyRows(ctx, q, 'u')}
                 order by u.stated_from, u.first_seq limit 1) as first_unit
          from ${t('claim_versions')} cv
         where ${historyRows(ctx, q, 'cv')} ${q.includeRetracted ? sql`` : sql`and cv.status <> 'retracted'`}
         order by cv.stated_from, cv.first_seq
        offset 0) p
     order by p.stated_from, p.first_seq`;
}

/** A statement parameter as an SQL literal: COPY takes no parameters. */
function literalOf(v: unknown): string {
  if (typeof v === 'string') return escapeLiteral(v);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string'))
    return escapeLiteral(`{${v.map((x) => `"${x.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`);
  throw new TypeError(`no SQL literal for a parameter of type ${typeof v}`);
}

/**
 * `text` (a compiled statement, `$n` its parameters) with each parameter written as a literal, for
 * COPY, which takes none. Only `$n` outside quoted literals and identifiers are parameters; every
 * parameter must be used.
 */
export function inlineParameters(text: string, parameters: readonly unknown[]): string {
  let out = '';
  let used = 0;
  for (let i = 0; i < text.length;) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      // A quoted literal or identifier, its doubled quotes included, copied as it is.
      let j = i + 1;
      while (j < text.length && (text[j] !== c || text[j + 1] === c)) j += text[j] === c ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '$' && /\d/.test(text[i + 1] ?? '')) {
      let j = i + 1;
      while (j < text.length && /\d/.test(text[j]!)) j++;
      const n = Number(text.slice(i + 1, j));
      if (n < 1 || n > parameters.length)
        throw new RangeError(`$${n}: the statement has ${parameters.length} parameters`);
      out += literalOf(parameters[n - 1]);
      used = Math.max(used, n);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  if (used !== parameters.length) throw new RangeError(`the statement uses ${used} of ${parameters.length} parameters`);
  return out;
}

const CRLF = Buffer.from('\r\n');

/**
 * COPY's CSV with RFC 4180's record ends: each LF outside a quoted field (where COPY ends a record)
 * becomes CRLF; line breaks inside quoted fields stay as they are. Keeps the quoting state from
 * one chunk to the next, and counts the records.
 */
export function crlfRecords() {
  let quoted = false;
  let records = 0;
  return {
    get records() {
      return records;
    },
    /** Whether the bytes so far end between records (not inside a quoted field). */
    get whole() {
      return !quoted;
    },
    convert(chunk: Buffer): Buffer {
      const parts: Buffer[] = [];
      let from = 0;
      let at = 0;
      while (at < chunk.length) {
        const quote = chunk.indexOf(0x22, at);
        if (quoted) {
          if (quote < 0) break;
          quoted = false;
          at = quote + 1;
          continue;
        }
        const lf = chunk.indexOf(0x0a, at);
        if (lf >= 0 && (quote < 0 || lf < quote)) {
          parts.push(chunk.subarray(from, lf), CRLF);
          records++;
          from = at = lf + 1;
        } else if (quote >= 0) {
          quoted = true;
          at = quote + 1;
        } else break;
      }
      if (parts.length === 0) return chunk;
      parts.push(chunk.subarray(from));
      return Buffer.concat(parts);
    },
  };
}

/**
 * Runs the export of `q`'s history: one COPY on a connection of its own, in a read-only
 * transaction whose statement_timeout is `timeoutMs` (the export is one statement, however long
 * the history), each chunk of CSV given to `each` and awaited before the next is read (Postgres
 * waits meanwhile). Resolves with the number of rows. A failure leaves the connection closed, not
 * back in the pool (the COPY may be running still).
 */
export async function exportHistoryCsv(
  db: Kysely<Database>,
  ctx: ReadContext,
  q: HistoryFilter,
  o: { timeoutMs: number; each: (chunk: Buffer) => Promise<void> },
): Promise<number> {
  const compiled = exportStatement(ctx, q).compile(db);
  const text = `copy (${inlineParameters(compiled.sql, compiled.parameters)}) to stdout (format csv)`;
  const client = await poolOf(db).connect();
  let broken: unknown;
  try {
    await client.query('begin read only');
    await client.query(`set local statement_timeout = ${Math.max(1, Math.round(o.timeoutMs))}`);
    const lines = crlfRecords();
    for await (const chunk of client.query(copyTo(text))) {
      const out = lines.convert(chunk as Buffer);
      if (out.length > 0) await o.each(out);
    }
    if (!lines.whole) throw new Error('the CSV of the export ended inside a quoted field');
    await client.query('commit');
    return lines.records;
  } catch (err) {
    broken = err;
    throw err;
  } finally {
    client.release(broken === undefined ? undefined : true);
  }
}

export const HISTORY_CSV_HEADER = `${HISTORY_CSV_COLUMNS.join(',')}\r\n`;

/** Whether an Accept header asks for CSV before JSON (`text/csv` listed, with a q not below JSON's). */
export function acceptsCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  let csv = -1;
  let json = -1;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((x) => x.trim()).find((x) => x.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    const weight = Number.isFinite(q) ? q : 0;
    if (type.trim() === 'text/csv') csv = Math.max(csv, weight);
    else if (type.trim() === 'application/json') json = Math.max(json, weight);
  }
  return csv > 0 && csv >= json;
}

const gone = () => new UnavailableError('the client went away before the answer', 1);

/**
 * Resolves once `out` can take more, or rejects when the client is gone (`closed` settled) or has
 * taken nothing for `stallMs` (a client that stops reading does not hold its lane's place for ever).
 */
async function drained(out: PassThrough, closed: { now: boolean; wait: Promise<void> }, stallMs: number) {
  if (closed.now) throw gone();
  let timer: NodeJS.Timeout | undefined;
  const ac = new AbortController();
  try {
    await Promise.race([
      once(out, 'drain', { signal: ac.signal }),
      closed.wait.then(() => {
        throw gone();
      }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new UnavailableError(`the client took nothing for ${stallMs} ms; the export was stopped`, 1)),
          stallMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

/**
 * Answers the history of `filter` as CSV, streamed: the export holds one place in the history
 * lane and one connection, and its statement runs under `timeoutMs`; a chunk is not read from
 * Postgres before the client has taken the one before (or `stallMs` passes, and the export stops).
 * An unknown topic or metric is a 404 and a failure before the first row a 503, both as
 * problem+json; a failure after the first row ends the answer unfinished (the chunked body is cut,
 * so a client cannot take it for a whole one).
 */
export async function sendHistoryCsv(o: {
  reply: FastifyReply;
  read: Read;
  db: Kysely<Database>;
  ctx: ReadContext;
  filter: HistoryFilter;
  timeoutMs: number;
  stallMs: number;
}): Promise<FastifyReply> {
  const { reply, ctx, filter } = o;
  const out = new PassThrough();
  let started = false;
  // The reply's socket closing before the end: the client went away.
  const closed = { now: false, wait: Promise.resolve() };
  closed.wait = new Promise<void>((resolve) =>
    reply.raw.once('close', () => {
      closed.now = true;
      resolve();
    }),
  );
  const start = () => {
    void reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${filter.topic}.${filter.metric}.history.csv"`)
      .header('x-claimtrail-as-of-seq', String(ctx.asOfSeq))
      .header('x-claimtrail-known-at', ctx.knownAt)
      .send(out);
    started = true;
    out.write(HISTORY_CSV_HEADER);
  };
  try {
    await o.read('history', async () => {
      const rows = await exportHistoryCsv(o.db, ctx, filter, {
        timeoutMs: o.timeoutMs,
        each: async (chunk) => {
          if (closed.now) throw gone();
          if (!started) start();
          if (!out.write(chunk)) await drained(out, closed, o.stallMs);
        },
      });
      if (rows === 0) {
        await requireKnown(o.db, ctx, { topic: filter.topic, metric: filter.metric });
        start();
      }
    });
  } catch (err) {
    if (!started) throw err;
    reply.log.warn({ err }, 'a CSV export stopped before its end');
    out.destroy(err as Error);
    return reply;
  }
  out.end();
  return reply;
}
