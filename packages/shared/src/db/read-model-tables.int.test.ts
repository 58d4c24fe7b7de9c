import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestEnv, type TestEnv } from '../testing/index.ts';
import { migrateReadModel } from './database.ts';
import { READ_MODEL_TABLES, READ_MODEL_TABLE_NAMES, type PgType } from './read-model-tables.ts';

let env: TestEnv;
const schema = 'registry_rm';

beforeAll(async () => {
  env = await createTestEnv('registry', { migrate: false });
  expect((await migrateReadModel(env.db, schema)).error).toBeUndefined();
});
afterAll(async () => {
  await env?.cleanup();
});

/** information_schema's names of the registry's types. */
const PG_NAMES: Record<string, PgType> = {
  text: 'text',
  bigint: 'bigint',
  integer: 'int',
  uuid: 'uuid',
  'timestamp with time zone': 'timestamptz',
  jsonb: 'jsonb',
  numeric: 'numeric',
  boolean: 'boolean',
  'ARRAY:_text': 'text[]',
};

describe('the read-model table registry', () => {
  it('is what the migrations build: every table, column, type, nullability and key, in order', async () => {
    const cols = await sql<{
      table_name: string;
      column_name: string;
      data_type: string;
      udt_name: string;
      is_nullable: string;
    }>`
      select table_name, column_name, data_type, udt_name, is_nullable from information_schema.columns
       where table_schema = ${schema} order by table_name, ordinal_position`.execute(env.db);
    const keys = await sql<{ table_name: string; column_name: string }>`
      select c.relname as table_name, a.attname as column_name
        from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace s on s.oid = c.relnamespace
        cross join lateral unnest(i.indkey) with ordinality as k(attnum, pos)
        join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
       where s.nspname = ${schema} and i.indisprimary order by c.relname, k.pos`.execute(env.db);
    for (const table of READ_MODEL_TABLE_NAMES) {
      const spec = READ_MODEL_TABLES[table];
      const actual = cols.rows
        .filter((r) => r.table_name === table)
        .map((r) => ({
          name: r.column_name,
          type: PG_NAMES[r.data_type === 'ARRAY' ? `ARRAY:${r.udt_name}` : r.data_type] ?? r.data_type,
          nullable: r.is_nullable === 'YES',
        }));
      const expected = Object.entries(spec.columns).map(([name, c]) => ({
        name,
        type: c.type,
        nullable: 'nullable' in c && c.nullable === true,
      }));
      expect(actual, table).toEqual(expected);
      expect(
        keys.rows.filter((r) => r.table_name === table).map((r) => r.column_name),
        table,
      ).toEqual([...spec.keys]);
    }
    // Nothing else in a read-model schema but the projector's own bookkeeping and the migrator's.
    const others = [...new Set(cols.rows.map((r) => r.table_name))].filter(
      (t) => !(READ_MODEL_TABLE_NAMES as string[]).includes(t),
    );
    expect(others.sort()).toEqual([
      'checkpoint',
      'fold_rule',
      'kysely_migration',
      'kysely_migration_lock',
      'projector_lease',
    ]);
  });
});
