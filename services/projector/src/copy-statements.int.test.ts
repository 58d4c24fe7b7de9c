import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolOf } from '@claimtrail/shared/db';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { copyBuffer } from './copy-text.ts';
import { CopyStatements } from './copy-statements.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv('copystatements');
});
afterAll(async () => {
  await env?.cleanup();
});

/**
 * What CopyStatements takes from pg beyond its documented API (copy-statements.ts names the
 * version): when one of these fails, pg changed under it.
 */
describe('the pg internals CopyStatements reaches into', () => {
  it('a connected client writes to a net.Socket at connection.stream, which corks', async () => {
    const client = await poolOf(env.db).connect();
    try {
      const stream: unknown = client.connection.stream;
      expect(stream).toBeInstanceOf(Socket);
      const socket = stream as Socket;
      for (const method of ['cork', 'uncork', 'write'] as const) expect(typeof socket[method]).toBe('function');
      expect(socket.writable).toBe(true);
    } finally {
      client.release();
    }
  });

  it("routes a query's protocol messages to the Submittable handlers CopyStatements has", async () => {
    const calls: string[] = [];
    class Recording extends CopyStatements {
      override submit(connection: Parameters<CopyStatements['submit']>[0]): void {
        calls.push(connection === client.connection ? 'submit(client.connection)' : 'submit(another connection)');
        super.submit(connection);
      }
      override handleCopyInResponse(): void {
        calls.push('copyInResponse');
      }
      override handleCommandComplete(): void {
        calls.push('commandComplete');
      }
      override handleReadyForQuery(): void {
        calls.push('readyForQuery');
        super.handleReadyForQuery();
      }
    }
    const client = await poolOf(env.db).connect();
    try {
      await client.query('create temporary table routed (n int, s text)');
      const q = new Recording('copy routed (n, s) from stdin', [copyBuffer([{ n: 1, s: 'one' }], ['n', 's'])]);
      await client.query(q).done;
      expect(calls).toEqual(['submit(client.connection)', 'copyInResponse', 'commandComplete', 'readyForQuery']);
      expect((await client.query('select n, s from routed')).rows).toEqual([{ n: 1, s: 'one' }]);
    } finally {
      client.release();
    }
  });
});

describe('CopyStatements (several COPYs and their data in one message)', () => {
  const rows = (ns: number[]) =>
    copyBuffer(
      ns.map((n) => ({ n, s: `row ${n}\tx` })),
      ['n', 's'],
    );
  const copyInto = (table: string) => `copy bundle.${table} (n, s) from stdin`;
  const stored = async (table: string) =>
    (await poolOf(env.db).query<{ n: number; s: string }>(`select n, s from bundle.${table} order by n`)).rows;

  beforeAll(async () => {
    await poolOf(env.db).query(`
      create schema bundle;
      create table bundle.a (n int primary key, s text not null);
      create table bundle.b (n int primary key, s text not null);`);
  });

  it('runs BEGIN and every COPY in order, each reading its own data', async () => {
    const client = await poolOf(env.db).connect();
    try {
      await client.query(new CopyStatements(`begin;\n${copyInto('a')};\n${copyInto('b')}`, [rows([1, 2]), rows([3])]))
        .done;
      // Still in the transaction BEGIN opened: nothing is visible to another session yet.
      expect(await stored('a')).toEqual([]);
      await client.query('commit');
    } finally {
      client.release();
    }
    expect(await stored('a')).toEqual([
      { n: 1, s: 'row 1\tx' },
      { n: 2, s: 'row 2\tx' },
    ]);
    expect(await stored('b')).toEqual([{ n: 3, s: 'row 3\tx' }]);
  });

  it('rejects with the first failure; the data sent after it is dropped and the client carries on', async () => {
    const before = { a: await stored('a'), b: await stored('b') };
    const client = await poolOf(env.db).connect();
    try {
      // A duplicate key in the first COPY, in the middle of its data; the second COPY has rows.
      const dup = new CopyStatements(`begin;\n${copyInto('a')};\n${copyInto('b')}`, [rows([10, 1, 11]), rows([12])]);
      await expect(client.query(dup).done).rejects.toThrow(/duplicate key value violates unique constraint "a_pkey"/);
      await client.query('rollback');
      // A statement that fails before its COPY starts: its data, and the next COPY's, are dropped.
      const missing = new CopyStatements(`begin;\n${copyInto('nope')};\n${copyInto('b')}`, [rows([20]), rows([21])]);
      await expect(client.query(missing).done).rejects.toThrow(/relation "bundle.nope" does not exist/);
      await client.query('rollback');
      // The same connection is in step: plain queries and another bundle work.
      expect((await client.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
      await client.query(new CopyStatements(copyInto('b'), [rows([30])])).done;
    } finally {
      client.release();
    }
    expect(await stored('a')).toEqual(before.a);
    expect(await stored('b')).toEqual([...before.b, { n: 30, s: 'row 30\tx' }]);
  });

  it('rejects, rather than waiting for ever, when the connection is lost under it', async () => {
    const client = await poolOf(env.db).connect();
    let broken: Error | undefined;
    client.on('error', () => undefined);
    try {
      const bundle = new CopyStatements(`select pg_terminate_backend(pg_backend_pid());\n${copyInto('a')}`, [
        rows([40]),
      ]);
      await expect(client.query(bundle).done).rejects.toThrow(/terminat/);
      broken = new Error('terminated');
    } finally {
      client.release(broken);
    }
    expect((await stored('a')).some((r) => r.n === 40)).toBe(false);
  });
});
