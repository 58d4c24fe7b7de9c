import { sql, type Kysely } from 'kysely';
import type { Database } from '@claimtrail/shared/db';
import {
  quoteIdent,
  READ_MODEL_TABLE_NAMES,
  READ_MODEL_TABLES as REGISTRY,
  type ColumnSpec,
} from '@claimtrail/shared/db';

/** Every table of a read-model schema the fold writes, with its key and the seq a row belongs to (from the registry). */
export const READ_MODEL_TABLES = READ_MODEL_TABLE_NAMES.map((table) => ({
  table,
  keys: REGISTRY[table].keys,
  seq: REGISTRY[table].seq,
  versioned: REGISTRY[table].versioned,
}));

/** Columns that record when a row was written, not what the stream says: those Postgres sets. */
const WALL_CLOCK_COLUMNS = new Set(
  READ_MODEL_TABLE_NAMES.flatMap((t) =>
    Object.entries(REGISTRY[t].columns as Record<string, ColumnSpec>)
      .filter(([, c]) => c.generated)
      .map(([name]) => name),
  ),
);

export interface RowDifference {
  key: Record<string, string>;
  seq: number | null;
  /** `changed`: both have the row, with other values; `only-live` / `only-replay`: one lacks it. */
  kind: 'changed' | 'only-live' | 'only-replay';
}

export interface TableComparison {
  table: string;
  liveRows: number;
  replayRows: number;
  liveDigest: string;
  replayDigest: string;
  differing: number;
  firstDifferences: RowDifference[];
}

/**
 * Compares one table of two read-model schemas row by row, as of `atSeq`: rows past it are left
 * out and versions closed after it count as open, so a live schema that moved on since the
 * replay stopped still compares exactly. Each row is reduced to the md5 of its text and the two
 * sides are joined on the key inside Postgres, so nothing large comes back to this process.
 */
export async function compareTable(
  db: Kysely<Database>,
  live: string,
  replay: string,
  t: (typeof READ_MODEL_TABLES)[number],
  atSeq: number,
  limit: number,
): Promise<TableComparison> {
  const cols = await sql<{ column_name: string }>`
    select column_name from information_schema.columns where table_schema = ${live} and table_name = ${t.table} order by ordinal_position`.execute(
    db,
  );
  const exprs = cols.rows
    .map((c) => c.column_name)
    .filter((c) => !WALL_CLOCK_COLUMNS.has(c))
    .map((c) => {
      const q = quoteIdent(c);
      if (t.versioned && (c === 'seq_to' || c === 'known_to'))
        return `case when seq_to > ${atSeq} then null else ${q} end`;
      return q;
    });
  const keys = t.keys.map(quoteIdent).join(', ');
  const side = (schema: string) =>
    `select ${keys}, ${quoteIdent(t.seq)} as row_seq, md5(row(${exprs.join(', ')})::text) as h from ${quoteIdent(schema)}.${quoteIdent(t.table)} where ${quoteIdent(t.seq)} <= ${atSeq}`;
  const cte = `with a as (${side(live)}), b as (${side(replay)})`;
  const digests = await sql<{
    live_rows: number;
    replay_rows: number;
    live_digest: string | null;
    replay_digest: string | null;
    differing: number;
  }>`${sql.raw(`${cte}
    select (select count(*)::int from a) as live_rows, (select count(*)::int from b) as replay_rows,
           (select md5(coalesce(string_agg(h, '' order by ${keys}), '')) from a) as live_digest,
           (select md5(coalesce(string_agg(h, '' order by ${keys}), '')) from b) as replay_digest,
           (select count(*)::int from a full join b using (${keys}) where a.h is distinct from b.h) as differing`)}`.execute(
    db,
  );
  const d = digests.rows[0]!;
  const first = d.differing
    ? await sql<
        Record<string, unknown> & { a_h: string | null; b_h: string | null; row_seq: number | null }
      >`${sql.raw(`${cte}
        select ${t.keys.map((k) => `${quoteIdent(k)}::text`).join(', ')}, a.h as a_h, b.h as b_h, coalesce(a.row_seq, b.row_seq)::bigint as row_seq
          from a full join b using (${keys}) where a.h is distinct from b.h
         order by coalesce(a.row_seq, b.row_seq), ${keys} limit ${limit}`)}`.execute(db)
    : { rows: [] };
  return {
    table: t.table,
    liveRows: d.live_rows,
    replayRows: d.replay_rows,
    liveDigest: d.live_digest ?? '',
    replayDigest: d.replay_digest ?? '',
    differing: d.differing,
    firstDifferences: first.rows.map((r) => ({
      key: Object.fromEntries(t.keys.map((k) => [k, String(r[k])])),
      seq: r.row_seq === null ? null : Number(r.row_seq),
      kind: r.a_h === null ? 'only-replay' : r.b_h === null ? 'only-live' : 'changed',
    })),
  };
}
