import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '@claimtrail/shared/db';
import { GENESIS_HASH } from '@claimtrail/shared/identity';
import type { ClaimValue } from '@claimtrail/shared/events';
import {
  idsOfBatch,
  type ClaimVersion,
  type FoldInput,
  type FoldOutput,
  type MetricVersion,
  type SourceVersion,
  type StreamMessage,
} from './fold.ts';

const CHECKPOINT = 'projector';
const MAX_PARAMS = 30_000;

function iso(d: Date | string | null): string | null {
  if (d === null) return null;
  return (d instanceof Date ? d : new Date(d)).toISOString();
}
function num(v: string | number | null): number | null {
  return v === null ? null : Number(v);
}

function chunks<T>(rows: T[], cols: number): T[][] {
  const size = Math.max(1, Math.floor(MAX_PARAMS / Math.max(1, cols)));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

export interface Checkpoint {
  lastSeq: number;
  chainHash: string;
  knownAt: string | null;
}

/** Reads and writes one read-model schema. */
export function createProjectionStore(db: Kysely<Database>, schema: string) {
  const s = db.withSchema(schema);

  async function readCheckpoint(trx: Kysely<Database> = db): Promise<Checkpoint> {
    const row = await trx
      .withSchema(schema)
      .selectFrom('checkpoint')
      .selectAll()
      .where('name', '=', CHECKPOINT)
      .executeTakeFirst();
    return row
      ? { lastSeq: Number(row.last_seq), chainHash: row.chain_hash, knownAt: iso(row.known_at) }
      : { lastSeq: 0, chainHash: GENESIS_HASH, knownAt: null };
  }

  async function loadInput(trx: Transaction<Database>, messages: readonly StreamMessage[]): Promise<FoldInput> {
    const cp = await readCheckpoint(trx);
    const ids = idsOfBatch(messages);
    const t = trx.withSchema(schema);
    const claimIds = [...ids.claimIds];
    const [claimRows, parkedRows, sourceRows, metricRows, seenRows, reportRows] = await Promise.all([
      claimIds.length
        ? t
            .selectFrom('claim_versions')
            .selectAll()
            .where('claim_id', 'in', claimIds)
            .where('seq_to', 'is', null)
            .execute()
        : [],
      claimIds.length
        ? t
            .selectFrom('dead_letters')
            .select(['claim_id', sql<number>`min(seq)`.as('seq')])
            .where('claim_id', 'in', claimIds)
            .groupBy('claim_id')
            .execute()
        : [],
      ids.sourceIds.size
        ? t
            .selectFrom('sources')
            .selectAll()
            .where('source_id', 'in', [...ids.sourceIds])
            .where('seq_to', 'is', null)
            .execute()
        : [],
      ids.metricNames.size
        ? t
            .selectFrom('metrics')
            .selectAll()
            .where('metric', 'in', [...ids.metricNames])
            .where('seq_to', 'is', null)
            .execute()
        : [],
      ids.eventIds.size
        ? t
            .selectFrom('event_ledger')
            .select(['event_id', 'seq'])
            .where(
              'event_id',
              'in',
              [...ids.eventIds].filter((id) => /^[0-9a-f-]{36}$/i.test(id)),
            )
            .execute()
        : [],
      ids.reportIds.size
        ? t
            .selectFrom('reports')
            .select('report_id')
            .where('report_id', 'in', [...ids.reportIds])
            .execute()
        : [],
    ]);
    const claims = new Map<string, ClaimVersion>();
    for (const r of claimRows) {
      claims.set(r.claim_id, {
        claim_id: r.claim_id,
        seq_from: Number(r.seq_from),
        seq_to: null,
        known_from: iso(r.known_from)!,
        known_to: null,
        topic: r.topic,
        metric: r.metric,
        source_id: r.source_id,
        unit: r.unit,
        value: r.value as ClaimValue,
        low: num(r.low),
        best: num(r.best),
        high: num(r.high),
        rule: r.rule,
        stated_at: r.stated_at,
        stated_from: iso(r.stated_from)!,
        stated_to: iso(r.stated_to)!,
        valid_from: r.valid_from,
        valid_from_at: iso(r.valid_from_at)!,
        valid_to: r.valid_to,
        valid_to_at: iso(r.valid_to_at)!,
        quote: r.quote,
        via: r.via,
        status: r.status as ClaimVersion['status'],
        first_seq: Number(r.first_seq),
        recorded_at: iso(r.recorded_at)!,
        report_id: r.report_id,
      });
    }
    const sources = new Map<string, SourceVersion>(
      sourceRows.map((r) => [
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
      metricRows.map((r) => [
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
      lastSeq: cp.lastSeq,
      chainHash: cp.chainHash,
      knownAt: cp.knownAt,
      claims,
      sources,
      metrics,
      parked: new Map(parkedRows.map((r) => [r.claim_id!, Number(r.seq)])),
      seenEventIds: new Map(
        seenRows.flatMap((r) => (r.event_id === null ? [] : [[r.event_id, Number(r.seq)] as const])),
      ),
      reports: new Set(reportRows.map((r) => r.report_id)),
    };
  }

  async function insert<T extends object>(trx: Transaction<Database>, table: keyof Database & string, rows: T[]) {
    if (rows.length === 0) return;
    const cols = Object.keys(rows[0]!).length;
    for (const part of chunks(rows, cols)) {
      await trx
        .withSchema(schema)
        .insertInto(table as 'event_ledger')
        .values(part as never)
        .execute();
    }
  }

  async function closeVersions(
    trx: Transaction<Database>,
    table: 'claim_versions' | 'sources' | 'metrics',
    key: 'claim_id' | 'source_id' | 'metric',
    closes: { key: string; seq_from: number; seq_to: number; known_to: string }[],
  ) {
    if (closes.length === 0) return;
    await sql`
      update ${sql.table(`${schema}.${table}`)} as t
         set seq_to = x.seq_to, known_to = x.known_to
        from (select unnest(${closes.map((c) => c.key)}::text[]) as k,
                     unnest(${closes.map((c) => c.seq_from)}::bigint[]) as seq_from,
                     unnest(${closes.map((c) => c.seq_to)}::bigint[]) as seq_to,
                     unnest(${closes.map((c) => c.known_to)}::timestamptz[]) as known_to) as x
       where t.${sql.ref(key)} = x.k and t.seq_from = x.seq_from`.execute(trx);
  }

  async function write(trx: Transaction<Database>, out: FoldOutput): Promise<void> {
    await insert(trx, 'event_ledger', out.ledger);
    await insert(trx, 'event_repeats', out.repeats);
    await insert(trx, 'dead_letters', out.deadLetters);
    await insert(trx, 'reports', out.reports);
    await closeVersions(
      trx,
      'claim_versions',
      'claim_id',
      out.claimCloses.map((c) => ({ ...c, key: c.claim_id })),
    );
    await closeVersions(
      trx,
      'sources',
      'source_id',
      out.sourceCloses.map((c) => ({ ...c, key: c.source_id })),
    );
    await closeVersions(
      trx,
      'metrics',
      'metric',
      out.metricCloses.map((c) => ({ ...c, key: c.metric })),
    );
    await insert(
      trx,
      'claim_versions',
      out.claimVersions.map((v) => ({ ...v, value: JSON.stringify(v.value), via: JSON.stringify(v.via) })),
    );
    await insert(trx, 'sources', out.sourceVersions);
    await insert(trx, 'metrics', out.metricVersions);
    await insert(
      trx,
      'claim_citations',
      out.citations.map((c) => ({ ...c, via: JSON.stringify(c.via) })),
    );
    await insert(
      trx,
      'claim_revisions',
      out.revisions.map((r) => ({ ...r, changes: r.changes === null ? null : JSON.stringify(r.changes) })),
    );
    await trx
      .withSchema(schema)
      .insertInto('checkpoint')
      .values({ name: CHECKPOINT, last_seq: out.lastSeq, chain_hash: out.chainHash, known_at: out.knownAt })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({
            last_seq: out.lastSeq,
            chain_hash: out.chainHash,
            known_at: out.knownAt,
            updated_at: sql`now()`,
          }),
      )
      .execute();
    await sql`select pg_notify(${`claimtrail_${schema}`}, ${String(out.lastSeq)})`.execute(trx);
  }

  return {
    schema,
    readCheckpoint: () => readCheckpoint(),
    /**
     * Applies a batch in one transaction: read models, verbatim ledger rows with their chain
     * hashes, and the checkpoint. Messages at or below the checkpoint are skipped.
     */
    async applyBatch(messages: readonly StreamMessage[], fold: (input: FoldInput) => FoldOutput): Promise<FoldOutput> {
      return db.transaction().execute(async (trx) => {
        const input = await loadInput(trx, messages);
        const out = fold(input);
        if (out.lastSeq > input.lastSeq) await write(trx, out);
        return out;
      });
    },
    db: s,
  };
}
export type ProjectionStore = ReturnType<typeof createProjectionStore>;
