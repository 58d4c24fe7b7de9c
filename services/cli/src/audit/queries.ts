import { sql, type Kysely } from 'kysely';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createLogger } from '@claimtrail/shared';
import { getActiveSchema, metaSchemaOf, type Database } from '@claimtrail/shared/db';
import { claimId as claimIdSchema, TOPIC_RE } from '@claimtrail/shared/events';
import { chainHash, GENESIS_HASH } from '@claimtrail/shared/identity';
import { createPgTokenStore, createQueryApp } from '@claimtrail/query';
import { CliError } from '../runtime.ts';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return -- the answers are the query service's own JSON */

export interface AsOfAnswer {
  knownAt: string;
  asOfSeq: number;
  topics: { topic: string; metrics: { metric: string; unit: string | null; series: any[] }[] }[];
}

/**
 * `claimtrail audit as-of`: the state known at an instant. It asks the query service's own
 * routes (in process, no port), so the answer is by construction the API's `knownAt` answer.
 */
export async function runAsOf(
  deps: { db: Kysely<Database>; baseSchema: string },
  o: { at: string; topic?: string; includeRetracted?: boolean },
): Promise<AsOfAnswer> {
  const at = new Date(o.at);
  if (
    Number.isNaN(at.getTime()) ||
    !/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(o.at)
  ) {
    throw new CliError(
      `<time> ${JSON.stringify(o.at)}: must be an RFC 3339 instant such as 2025-02-21T12:00:00Z (or a date)`,
      2,
    );
  }
  if (o.topic !== undefined && !TOPIC_RE.test(o.topic))
    throw new CliError(`--topic ${JSON.stringify(o.topic)}: must be a topic slug such as dprk-troops-in-russia`, 2);
  const metaSchema = metaSchemaOf(deps.baseSchema);
  const q = await createQueryApp({
    db: deps.db,
    logger: createLogger('claimtrail-audit', 'silent'),
    tokens: createPgTokenStore(deps.db, metaSchema),
    settings: { metaSchema, requireReadToken: false, ratePerMinute: 1_000_000 },
  });
  try {
    const knownAt = at.toISOString();
    const get = async (url: string) => {
      const r = await q.app.inject({ method: 'GET', url });
      if (r.statusCode !== 200) throw new CliError(`the query service answered ${r.statusCode} to ${url}: ${r.body}`);
      return r.json<any>();
    };
    // Every page of both (their nextCursor), joined: a source's points on several pages are one series.
    const pages = async (url: string) => {
      const all: any[] = [];
      for (let cursor: string | null = null; ;) {
        const page = await get(cursor === null ? url : `${url}&cursor=${encodeURIComponent(cursor)}`);
        all.push(page);
        cursor = page.nextCursor ?? null;
        if (cursor === null) return all;
      }
    };
    const topicPages = await pages(`/v1/topics?knownAt=${encodeURIComponent(knownAt)}`);
    const out: AsOfAnswer = { knownAt, asOfSeq: topicPages[0].asOfSeq, topics: [] };
    for (const t of topicPages.flatMap((p) => p.topics) as { topic: string; metrics: { metric: string }[] }[]) {
      if (o.topic !== undefined && t.topic !== o.topic) continue;
      const metrics: AsOfAnswer['topics'][number]['metrics'] = [];
      for (const m of t.metrics) {
        const historyPages = await pages(
          `/v1/topics/${t.topic}/metrics/${m.metric}/history?knownAt=${encodeURIComponent(knownAt)}${o.includeRetracted ? '&includeRetracted=true' : ''}`,
        );
        const series = new Map<string, { source: { id: string }; points: unknown[] }>();
        for (const p of historyPages)
          for (const s of p.series as { source: { id: string }; points: unknown[] }[]) {
            const joined = series.get(s.source.id);
            if (joined) joined.points.push(...s.points);
            else series.set(s.source.id, { source: s.source, points: [...s.points] });
          }
        metrics.push({ metric: m.metric, unit: historyPages[0].unit, series: [...series.values()] });
      }
      out.topics.push({ topic: t.topic, metrics });
    }
    return out;
  } finally {
    await q.close();
  }
}

/** Rows for the table view of an as-of answer. */
export function asOfRows(a: AsOfAnswer): string[][] {
  const rows = [['topic', 'metric', 'source', 'statedAt', 'value', 'low', 'best', 'high', 'status', 'seq']];
  for (const t of a.topics)
    for (const m of t.metrics)
      for (const s of m.series)
        for (const p of s.points) {
          const v = p.value;
          const value =
            v.kind === 'range' ? `${v.low}–${v.high}` : `${v.kind === 'exact' ? '' : `${v.kind} `}${v.value}`;
          rows.push([
            t.topic,
            m.metric,
            s.source.id,
            p.statedAt,
            value,
            String(p.low ?? ''),
            String(p.best ?? ''),
            String(p.high ?? ''),
            p.status,
            String(p.seq),
          ]);
        }
  return rows;
}

export function formatTable(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

export interface ClaimStoryEvent {
  seq: number;
  type: string | null;
  actor: string | null;
  recordedAt: string | null;
  reportId: string | null;
  report: { url: string; publisher: string; publishedAt: string } | null;
  changes?: unknown;
  reason?: string;
  chainHash: string;
  /** The chain hash recomputed from the previous ledger row and this payload. */
  chainOk: boolean;
  /** Whether the stream holds these very bytes at this seq. */
  stream: 'same' | 'differs' | 'missing' | 'not checked';
  event: unknown;
}

/** `claimtrail audit claim`: every event of one claim from the ledger, checked against the stream. */
export async function runClaimStory(
  deps: { db: Kysely<Database>; baseSchema: string; nc?: NatsConnection; stream?: string },
  claimId: string,
): Promise<{ ok: boolean; claimId: string; schema: string; events: ClaimStoryEvent[] }> {
  if (!claimIdSchema.safeParse(claimId).success)
    throw new CliError(`<claimId> ${JSON.stringify(claimId)}: must be clm_ followed by 24 hex digits`, 2);
  const schema = await getActiveSchema(deps.db, metaSchemaOf(deps.baseSchema));
  if (!schema) throw new CliError('the database is not migrated; run `claimtrail migrate` first');
  const rows = await deps.db
    .withSchema(schema)
    .selectFrom('event_ledger')
    .selectAll()
    .where('claim_id', '=', claimId)
    .orderBy('seq')
    .execute();
  if (rows.length === 0) throw new CliError(`no events for claim ${claimId} in the ledger of ${schema}`);
  const jsm = deps.nc ? await jetstreamManager(deps.nc) : undefined;
  const events: ClaimStoryEvent[] = [];
  for (const r of rows) {
    const seq = Number(r.seq);
    const prev = await deps.db
      .withSchema(schema)
      .selectFrom('event_ledger')
      .select('chain_hash')
      .where(sql<boolean>`seq < ${seq}`)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    let event: any;
    try {
      event = JSON.parse(r.payload);
    } catch {
      event = r.payload;
    }
    const reportId: string | null = typeof event?.data?.reportId === 'string' ? event.data.reportId : null;
    const report = reportId
      ? ((await deps.db
          .withSchema(schema)
          .selectFrom('reports')
          .select(['url', 'publisher', 'published_at'])
          .where('report_id', '=', reportId)
          .executeTakeFirst()) ?? null)
      : null;
    let stream: ClaimStoryEvent['stream'] = 'not checked';
    if (jsm && deps.stream) {
      const m = await jsm.direct.getMessage(deps.stream, { seq }).catch(() => null);
      stream = m === null ? 'missing' : m.string() === r.payload ? 'same' : 'differs';
    }
    events.push({
      seq,
      type: r.type,
      actor: r.actor,
      recordedAt: r.recorded_at === null ? null : new Date(r.recorded_at).toISOString(),
      reportId,
      report: report ? { url: report.url, publisher: report.publisher, publishedAt: report.published_at } : null,
      ...(event?.data?.changes === undefined ? {} : { changes: event.data.changes }),
      ...(typeof event?.data?.reason === 'string' ? { reason: event.data.reason } : {}),
      chainHash: r.chain_hash,
      chainOk: chainHash(prev?.chain_hash ?? GENESIS_HASH, r.payload) === r.chain_hash,
      stream,
      event,
    });
  }
  return {
    ok: events.every((e) => e.chainOk && (e.stream === 'same' || e.stream === 'not checked')),
    claimId,
    schema,
    events,
  };
}
