import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestEnv, type TestEnv } from '../testing/index.ts';
import { createPool } from './database.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv('pool-errors', { migrate: false });
});
afterAll(async () => {
  await env?.cleanup();
});

describe('a pool whose connections die', () => {
  it('survives a connection killed while a client is checked out, and answers the next query', async () => {
    const seen: Error[] = [];
    const pool = createPool({
      url: env.databaseUrl,
      max: 2,
      applicationName: 'pool-errors-test',
      onIdleError: (e) => seen.push(e),
    });
    const admin = new pg.Client({ connectionString: env.databaseUrl });
    await admin.connect();
    try {
      const client = await pool.connect();
      const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      // Killed between statements, while checked out: pg-pool listens only to idle clients, so
      // without a listener of the client's own the 'error' event would end this process.
      await admin.query('select pg_terminate_backend($1)', [pid]);
      await expect.poll(() => seen.length, { timeout: 5000 }).toBeGreaterThan(0);
      await expect(client.query('select 1')).rejects.toThrow();
      client.release(true);
      // An idle one killed too.
      const idle = await pool.connect();
      const idlePid = (await idle.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      idle.release();
      const before = seen.length;
      await admin.query('select pg_terminate_backend($1)', [idlePid]);
      await expect.poll(() => seen.length, { timeout: 5000 }).toBeGreaterThan(before);
      expect((await pool.query<{ one: number }>('select 1 as one')).rows[0]!.one).toBe(1);
    } finally {
      await admin.end();
      await pool.end();
    }
  });
});
