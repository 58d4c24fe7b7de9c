import type { CompiledQuery, Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from '@claimtrail/shared/db';

/** Runs a compiled query and gives its rows: through Kysely, or on a transaction's pg client. */
export type Exec = <R = Record<string, unknown>>(q: CompiledQuery) => Promise<R[]>;

export function clientExec(client: pg.PoolClient): Exec {
  return async <R>(q: CompiledQuery) => (await client.query(q.sql, q.parameters as unknown[])).rows as R[];
}

export function kyselyExec(db: Kysely<Database>): Exec {
  return async <R>(q: CompiledQuery) => (await db.executeQuery<R>(q)).rows;
}

/**
 * Runs `work` in a transaction on a client of its own (COPY needs the client itself). With
 * `begins`, the first statement `work` sends is BEGIN (see the COPY write), else it is sent here
 * first.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  begins = false,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    if (!begins) await client.query('begin');
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch((e: unknown) => (broken = e as Error));
    throw err;
  } finally {
    // A client whose rollback failed is in an unknown state: closed, not reused.
    client.release(broken);
  }
}
