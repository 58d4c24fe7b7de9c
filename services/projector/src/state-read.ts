import { sql, type Kysely } from 'kysely';
import type { Database } from '@claimtrail/shared/db';
import { GENESIS_HASH } from '@claimtrail/shared/identity';
import { CHECKPOINT, LEASE, type Checkpoint, type CheckpointLease } from './checkpoint-lease.ts';
import type { Exec } from './statement-runner.ts';
import { idsOfBatch, type BatchIds } from './batch-ids.ts';
import type { ClaimVersion, FoldInput, MetricVersion, SourceVersion } from './fold-rows.ts';
import type { StreamMessage } from './stream-message.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Rows as row_to_json gives them: timestamps as text, numerics as numbers. */
type ClaimRow = Omit<ClaimVersion, 'low' | 'best' | 'high' | 'seq_from' | 'first_seq'> & {
  seq_from: number | string;
  first_seq: number | string;
  low: number | string | null;
  best: number | string | null;
  high: number | string | null;
};
type SourceRow = Omit<SourceVersion, 'seq_from'> & { seq_from: number | string };
type MetricRow = Omit<MetricVersion, 'seq_from'> & { seq_from: number | string };

function iso(d: Date | string | null): string | null {
  if (d === null) return null;
  return (d instanceof Date ? d : new Date(d)).toISOString();
}
function num(v: string | number | null): number | null {
  return v === null ? null : Number(v);
}

const ARRAY_SPECIAL = /["\\]/g;

/**
 * A Postgres array literal of `items`, every element quoted (so an empty string or "NULL" stays
 * a string): what node-postgres would send for a JS array, built with one join when no element
 * holds a quote or a backslash. node-postgres quotes and escapes element by element, and the
 * state read of a batch of 1,000 events sends about 2,000 ids: 5.5 % of what the projector
 * allocated during a catch-up (heap sampling), each string for the young collector to sweep.
 */
export function arrayLiteral(items: Iterable<string>): string {
  const list = Array.isArray(items) ? (items as string[]) : [...items];
  if (list.length === 0) return '{}';
  if (!list.some((s) => s.includes('"') || s.includes('\\'))) return `{"${list.join('","')}"}`;
  return `{${list.map((s) => `"${s.replace(ARRAY_SPECIAL, '\\$&')}"`).join(',')}}`;
}

/**
 * An array parameter for `= any(…)` that the planner cannot see into: `(select $1::text[])::text[]`
 * is worked out once when the statement runs (an InitPlan), so the planner takes it for an array
 * of unknown length. Given the array itself, it estimated each of up to 1,000 elements against
 * the column's statistics (1.5-2.4 ms of planning for the state read's three large arrays, in
 * EXPLAIN on a 50k catch-up's read models, against 0.24-0.37), and it chose to read all of
 * `reports` and `dead_letters` for a batch's ids (execution 18-29 ms against 4.7-6.0 with index
 * scans). Its plan no longer depends on the batch's size. In a 50k catch-up's statement log
 * the state read went from 5.9 ms of bind and 11.1 of execution a batch to 3.4 and 7.0.
 */
function anyOf(literal: string, type: 'text' | 'uuid') {
  return sql`(select ${literal}::${sql.raw(type)}[])::${sql.raw(type)}[]`;
}

/** The stored checkpoint of a schema (seq 0 and the genesis hash before its first commit). */
export async function readCheckpoint(db: Kysely<Database>, schema: string): Promise<Checkpoint> {
  const row = await db
    .withSchema(schema)
    .selectFrom('checkpoint')
    .selectAll()
    .where('name', '=', CHECKPOINT)
    .executeTakeFirst();
  return row
    ? { lastSeq: Number(row.last_seq), chainHash: row.chain_hash, knownAt: iso(row.known_at) }
    : { lastSeq: 0, chainHash: GENESIS_HASH, knownAt: null };
}

/**
 * The state a batch needs, in one round trip: the checkpoint, the current version of each
 * claim it touches, parked claims, sources, metrics, event ids already in the ledger, reports.
 * A claim's current version is its newest (highest seq_from), found per claim id on the primary
 * key: `claim_id = any(…) and seq_to is null` let the planner, with the statistics of a table
 * still filling up, scan the whole partial index claim_versions_current (or the table) for
 * every batch, so catch-up slowed down as the read models grew. It is planned for every
 * batch, not prepared: a generic plan made while the read models were small kept scanning
 * whole tables as they grew (docs/decisions/0013-plan-the-state-read-every-batch.md).
 * The lease read with it must still be `lease`'s (else FencedError).
 */
export async function loadInput(
  db: Kysely<Database>,
  schema: string,
  lease: Pick<CheckpointLease, 'assertLeads'>,
  exec: Exec,
  messages: readonly StreamMessage[],
  ids: BatchIds = idsOfBatch(messages),
): Promise<FoldInput> {
  const claimIds = arrayLiteral(ids.claimIds);
  const eventIds = arrayLiteral([...ids.eventIds].filter((id) => UUID.test(id)));
  const t = (name: string) => sql.table(`${schema}.${name}`);
  const row = (
    await exec<{
      checkpoint: { last_seq: number; chain_hash: string; known_at: string | null } | null;
      epoch: number | null;
      claims: Record<string, unknown>[];
      parked: { claim_id: string; seq: number }[];
      sources: Record<string, unknown>[];
      metrics: Record<string, unknown>[];
      seen: { event_id: string; seq: number }[];
      reports: string[];
    }>(
      sql`
      select
        (select row_to_json(c) from ${t('checkpoint')} c where c.name = ${CHECKPOINT}) as checkpoint,
        (select l.epoch from ${t('projector_lease')} l where l.name = ${LEASE}) as epoch,
        (select coalesce(json_agg(cv) filter (where cv.seq_to is null), '[]')
           from unnest(${claimIds}::text[]) as k(id)
          cross join lateral (select * from ${t('claim_versions')} v where v.claim_id = k.id
                               order by v.seq_from desc limit 1) cv) as claims,
        (select coalesce(json_agg(json_build_object('claim_id', d.claim_id, 'seq', d.seq)), '[]')
           from (select claim_id, min(seq) as seq from ${t('dead_letters')}
                  where claim_id = any(${anyOf(claimIds, 'text')}) group by claim_id) d) as parked,
        (select coalesce(json_agg(s), '[]') from ${t('sources')} s
          where s.source_id = any(${anyOf(arrayLiteral(ids.sourceIds), 'text')}) and s.seq_to is null) as sources,
        (select coalesce(json_agg(m), '[]') from ${t('metrics')} m
          where m.metric = any(${anyOf(arrayLiteral(ids.metricNames), 'text')}) and m.seq_to is null) as metrics,
        (select coalesce(json_agg(json_build_object('event_id', e.event_id, 'seq', e.seq)), '[]') from ${t('event_ledger')} e
          where e.event_id = any(${anyOf(eventIds, 'uuid')})) as seen,
        (select coalesce(json_agg(r.report_id), '[]') from ${t('reports')} r
          where r.report_id = any(${anyOf(arrayLiteral(ids.reportIds), 'text')})) as reports`.compile(db),
    )
  )[0]!;
  lease.assertLeads(row.epoch);
  const cp = row.checkpoint;
  const claims = new Map<string, ClaimVersion>();
  for (const r of row.claims as unknown as ClaimRow[]) {
    // Every column as stored (a column added to the registry comes along), with the
    // conversions JSON needs: numbers for bigint and numeric, ISO text for timestamps.
    claims.set(r.claim_id, {
      ...r,
      seq_from: Number(r.seq_from),
      seq_to: null,
      known_from: iso(r.known_from)!,
      known_to: null,
      low: num(r.low),
      best: num(r.best),
      high: num(r.high),
      stated_from: iso(r.stated_from)!,
      stated_to: iso(r.stated_to)!,
      valid_from_at: iso(r.valid_from_at)!,
      valid_to_at: iso(r.valid_to_at)!,
      first_seq: Number(r.first_seq),
      recorded_at: iso(r.recorded_at)!,
    });
  }
  const sources = new Map<string, SourceVersion>(
    (row.sources as unknown as SourceRow[]).map((r) => [
      r.source_id,
      {
        source_id: r.source_id,
        seq_from: Number(r.seq_from),
        seq_to: null,
        known_from: iso(r.known_from)!,
        known_to: null,
        name: r.name,
        kind: r.kind,
        country: r.country,
      },
    ]),
  );
  const metrics = new Map<string, MetricVersion>(
    (row.metrics as unknown as MetricRow[]).map((r) => [
      r.metric,
      {
        metric: r.metric,
        seq_from: Number(r.seq_from),
        seq_to: null,
        known_from: iso(r.known_from)!,
        known_to: null,
        label: r.label,
        unit: r.unit,
        aggregation: r.aggregation,
        composed_of: r.composed_of,
      },
    ]),
  );
  return {
    lastSeq: cp ? Number(cp.last_seq) : 0,
    chainHash: cp ? cp.chain_hash : GENESIS_HASH,
    knownAt: cp ? iso(cp.known_at) : null,
    claims,
    sources,
    metrics,
    parked: new Map(row.parked.map((r) => [r.claim_id, Number(r.seq)])),
    seenEventIds: new Map(row.seen.map((r) => [r.event_id, Number(r.seq)] as const)),
    reports: new Set(row.reports),
  };
}
