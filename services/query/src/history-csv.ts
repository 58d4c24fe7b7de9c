// A metric's history as CSV (RFC 4180): a header row, one row per point, the points the JSON
// history answers for the same filters (the same statement and the same toPoint, read-models.ts).
// The rows are read through a cursor a batch at a time and written as the client takes them, so
// the service holds two batches at most (one written, the next fetched), whatever the size of the
// history.
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { UnavailableError } from '@claimtrail/shared/errors';
import { requireKnown } from './known-names.ts';
import type { ReadContext } from './read-context.ts';
import type { Read } from './read-guard.ts';
import type { HistoryFilter, ReadModels } from './read-models.ts';

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

type Exported = Parameters<Parameters<ReadModels['historyExport']>[2]['each']>[0]['points'][number];

/** A field as RFC 4180 writes it: quoted when it holds a comma, a quote, CR or LF; quotes doubled. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/**
 * Free text as a spreadsheet may not take it for a formula: a leading `=`, `+`, `-`, `@`, tab or
 * CR gets a leading apostrophe. Only the free-text columns (source_name, likelihood, note, quote)
 * pass through it; figures and identifiers never do, and what is stored is unchanged.
 */
export function formulaSafe(v: string): string {
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

const numberField = (n: number | null) => (n === null ? '' : String(n));
const text = (v: string | undefined) => (v === undefined ? '' : formulaSafe(v));

/** One point's row, as a line with its CRLF. */
export function historyCsvLine(topic: string, metric: string, unit: string | null, x: Exported): string {
  const p = x.point;
  const v = p.value as { kind: string; value?: number };
  const fields = [
    topic,
    metric,
    x.source.id,
    text(x.source.name),
    p.claimId,
    p.statedAt,
    p.validFrom,
    p.validTo,
    v.kind,
    v.value === undefined ? '' : String(v.value),
    numberField(p.low),
    numberField(p.best),
    numberField(p.high),
    unit ?? '',
    p.status,
    p.corrected === true ? 'true' : 'false',
    p.supersededBy ?? '',
    p.confidence ?? '',
    text(p.likelihood),
    text(p.note),
    p.recordedAt,
    String(p.seq),
    p.reports.map((r) => r.url).join(' '),
    text(p.quote),
  ];
  return `${fields.map(csvField).join(',')}\r\n`;
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
 * lane, each fetch of `batchRows` rows is one statement (under the statement timeout), and a fetch
 * is not sent before the client has taken the rows of the one before the last. An unknown topic
 * or metric is a 404 and a failure before the first row a 503, both as problem+json; a failure
 * after the first row ends the answer unfinished (the chunked body is cut, so a client cannot take
 * it for a whole one).
 */
export async function sendHistoryCsv(o: {
  reply: FastifyReply;
  read: Read;
  models: ReadModels;
  ctx: ReadContext;
  filter: HistoryFilter;
  batchRows: number;
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
  try {
    await o.read('history', () =>
      o.models.historyExport(ctx, filter, {
        batchRows: o.batchRows,
        each: async ({ points, unit, db }) => {
          if (closed.now) throw gone();
          if (!started) {
            if (points.length === 0) await requireKnown(db, ctx, { topic: filter.topic, metric: filter.metric });
            void reply
              .type('text/csv; charset=utf-8')
              .header('content-disposition', `attachment; filename="${filter.topic}.${filter.metric}.history.csv"`)
              .header('x-claimtrail-as-of-seq', String(ctx.asOfSeq))
              .header('x-claimtrail-known-at', ctx.knownAt)
              .send(out);
            started = true;
            out.write(HISTORY_CSV_HEADER);
          }
          let chunk = '';
          for (const x of points) chunk += historyCsvLine(filter.topic, filter.metric, unit, x);
          if (chunk !== '' && !out.write(chunk)) await drained(out, closed, o.stallMs);
        },
      }),
    );
  } catch (err) {
    if (!started) throw err;
    reply.log.warn({ err }, 'a CSV export stopped before its end');
    out.destroy(err as Error);
    return reply;
  }
  out.end();
  return reply;
}
