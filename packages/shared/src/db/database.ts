import {
  Kysely,
  PostgresDialect,
  sql,
  type Migration,
  type MigrationProvider,
  Migrator,
  type MigrationResultSet,
} from 'kysely';
import pg from 'pg';
import type { SchemaMigration } from '@claimtrail/infra/migrations';
import { metaMigrations, readModelMigrations } from '@claimtrail/infra/migrations';
import type { Database } from './types.ts';

// int8 as string would leak into every seq; claimtrail seqs stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface CreateDbOptions {
  url: string;
  max?: number;
  /** Every transaction read-only: the query service's connections. */
  readOnly?: boolean;
  /**
   * With `readOnly`: the longest a statement may run (Postgres statement_timeout), default
   * DEFAULT_READ_TIMEOUT_MS, so that no read holds a connection for ever.
   */
  statementTimeoutMs?: number;
  applicationName?: string;
  /** Told of a connection that failed while idle in the pool (Postgres restarted, say). */
  onIdleError?: (err: Error) => void;
}

/**
 * Session settings of the query service's connections. work_mem: a history answer's sort stays in
 * memory (docs/decisions/0015-query-work-mem.md). jit off: the history's per-point look-ups make
 * the planner's cost estimate cross jit_above_cost, and compiling the plan cost more than running
 * it (docs/decisions/0018-no-jit-for-reads.md).
 */
export const READ_SESSION_OPTIONS = '-c default_transaction_read_only=on -c work_mem=16MB -c jit=off';

/** The default of CLAIMTRAIL_READ_TIMEOUT_MS: a read-only connection's statement_timeout. */
export const DEFAULT_READ_TIMEOUT_MS = 5000;

export function createPool(o: CreateDbOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.max ?? 10,
    application_name: o.applicationName ?? 'claimtrail',
    ...(o.readOnly
      ? {
          options: `${READ_SESSION_OPTIONS} -c statement_timeout=${Math.round(o.statementTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS)}`,
        }
      : {}),
  });
  // A client whose connection drops (a Postgres restart, a terminated backend) emits 'error', and
  // an 'error' event with no listener ends the process. The pool listens only while a client is
  // idle (and re-emits on itself); a client checked out and between statements (waiting for the
  // batch before it, say) has no listener of the pool's, so each gets one of its own when it
  // connects. The statement in flight, if any, fails with the error; the pool discards the
  // client; the next query connects anew or fails, and the caller answers that (503 at the edge).
  pool.on('error', (err) => o.onIdleError?.(err));
  pool.on('connect', (client) => client.on('error', (err) => o.onIdleError?.(err)));
  return pool;
}

const pools = new WeakMap<Kysely<Database>, pg.Pool>();

export function createDb(o: CreateDbOptions): { db: Kysely<Database>; pool: pg.Pool } {
  const pool = createPool(o);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return { db, pool };
}

/**
 * The pg pool under a Kysely instance that createDb made, for what Kysely cannot do: the
 * projector writes its rows with COPY, which needs a pg client of its own.
 */
export function poolOf(db: Kysely<Database>): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('this Kysely instance was not made by createDb');
  return pool;
}

/** Creates the database named in `url` when it does not exist (connecting to `postgres` to do it). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, '')) || 'postgres';
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const r = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (r.rowCount) return false;
    try {
      await client.query(`create database ${quoteIdent(name)}`);
    } catch (err) {
      // Two processes may race to create it; the loser sees 42P04 and goes on.
      if ((err as { code?: string }).code !== '42P04') throw err;
    }
    return true;
  } finally {
    await client.end();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function provider(set: Record<string, SchemaMigration>, schema: string): MigrationProvider {
  return {
    getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, m] of Object.entries(set)) out[name] = { up: (db) => m.up(db, schema) };
      return Promise.resolve(out);
    },
  };
}

/** Migration failures are values, as Kysely's Migrator reports them. */
export interface MigrateOutcome {
  schema: string;
  applied: string[];
  error?: unknown;
}

async function migrateSet(
  db: Kysely<Database>,
  schema: string,
  set: Record<string, SchemaMigration>,
): Promise<MigrateOutcome> {
  await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  const migrator = new Migrator({
    db,
    provider: provider(set, schema),
    migrationTableSchema: schema,
  });
  const rs: MigrationResultSet = await migrator.migrateToLatest();
  return {
    schema,
    applied: (rs.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName),
    ...(rs.error === undefined ? {} : { error: rs.error }),
  };
}

export function metaSchemaOf(base: string): string {
  return base;
}
/** The read-model schema that is live before any promotion. */
export function defaultReadSchemaOf(base: string): string {
  return `${base}_rm`;
}

/** Migrates the meta schema and the given read-model schema; sets the pointer when unset. */
export async function migrateAll(db: Kysely<Database>, base: string, readSchema?: string): Promise<MigrateOutcome[]> {
  // One migrator at a time per database, even across processes.
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(hashtext('claimtrail-migrate'))`.execute(conn);
    try {
      const meta = await migrateSet(conn, metaSchemaOf(base), metaMigrations);
      if (meta.error) return [meta];
      const active = await getActiveSchema(conn, base);
      const target = readSchema ?? active ?? defaultReadSchemaOf(base);
      const rm = await migrateSet(conn, target, readModelMigrations);
      if (!active && !rm.error) {
        await conn
          .withSchema(metaSchemaOf(base))
          .insertInto('active_schema')
          .values({ schema_name: target })
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      return [meta, rm];
    } finally {
      await sql`select pg_advisory_unlock(hashtext('claimtrail-migrate'))`.execute(conn);
    }
  });
}

/** Migrates one read-model schema only (a replay target). */
export async function migrateReadModel(db: Kysely<Database>, schema: string): Promise<MigrateOutcome> {
  return migrateSet(db, schema, readModelMigrations);
}

export async function getActiveSchema(db: Kysely<Database>, base: string): Promise<string | undefined> {
  const row = await db
    .withSchema(metaSchemaOf(base))
    .selectFrom('active_schema')
    .select('schema_name')
    .executeTakeFirst()
    .catch((err: unknown) => {
      if ((err as { code?: string }).code === '42P01') return undefined;
      throw err;
    });
  return row?.schema_name;
}
