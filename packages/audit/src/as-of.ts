import type { Kysely } from 'kysely';
import { createLogger } from '@claimtrail/shared';
import { metaSchemaOf, type Database } from '@claimtrail/shared/db';
import { TOPIC_RE } from '@claimtrail/shared/events';
import { createPgTokenStore, createQueryApp } from '@claimtrail/query';
import { AuditError } from './audit-error.ts';

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
    throw new AuditError(
      `<time> ${JSON.stringify(o.at)}: must be an RFC 3339 instant such as 2025-02-21T12:00:00Z (or a date)`,
      { usage: true },
    );
  }
  if (o.topic !== undefined && !TOPIC_RE.test(o.topic))
    throw new AuditError(`--topic ${JSON.stringify(o.topic)}: must be a topic slug such as dprk-troops-in-russia`, {
      usage: true,
    });
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
      if (r.statusCode !== 200) throw new AuditError(`the query service answered ${r.statusCode} to ${url}: ${r.body}`);
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
