import { sql, type Kysely } from 'kysely';
import {
  READ_MODEL_TABLE_NAMES,
  READ_MODEL_TABLES as REGISTRY,
  type ColumnSpec,
  type Database,
} from '@claimtrail/shared/db';

/** Columns that hold wall-clock times of the fold itself, not of the events; left out of digests. */
const WALL_CLOCK: Record<string, string[]> = {
  checkpoint: ['updated_at'],
  ...Object.fromEntries(
    READ_MODEL_TABLE_NAMES.map((t) => [
      t,
      Object.entries(REGISTRY[t].columns as Record<string, ColumnSpec>)
        .filter(([, c]) => c.generated)
        .map(([name]) => name),
    ]),
  ),
};

/** The checkpoint and every table of the registry. */
export const READ_MODEL_TABLES = ['checkpoint', ...READ_MODEL_TABLE_NAMES] as const;

/** Row count and an order-independent digest of every read-model table of a schema. */
export async function readModelDigest(
  db: Kysely<Database>,
  schema: string,
): Promise<Record<string, { rows: number; md5: string }>> {
  const out: Record<string, { rows: number; md5: string }> = {};
  for (const table of READ_MODEL_TABLES) {
    const cols = await sql<{ column_name: string }>`
      select column_name from information_schema.columns where table_schema = ${schema} and table_name = ${table} order by ordinal_position`.execute(
      db,
    );
    const keep = cols.rows.map((c) => c.column_name).filter((c) => !(WALL_CLOCK[table] ?? []).includes(c));
    const row = sql.join(
      keep.map((c) => sql`coalesce(${sql.ref(`t.${c}`)}::text, '∅')`),
      sql`, `,
    );
    const r = await sql<{ rows: number; md5: string | null }>`
      select count(*)::int as rows, md5(string_agg(concat_ws('|', ${row}), E'\n' order by concat_ws('|', ${row}))) as md5
        from ${sql.table(`${schema}.${table}`)} t`.execute(db);
    out[table] = { rows: r.rows[0]!.rows, md5: r.rows[0]!.md5 ?? '' };
  }
  return out;
}
