import { startTestProjector } from './test-projector.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { migrateReadModel } from '@claimtrail/shared/db';
import { createTestEnv, publishSyntheticEvents, syntheticEvents, type TestEnv } from '@claimtrail/shared/testing';
import { foldBatch } from './fold.ts';
import type { StreamMessage } from './stream-message.ts';
import { createProjectionStore, FencedError, StaleCheckpointError } from './projection-store.ts';

let env: TestEnv;
const RULE = 'approx-5pct@1';

beforeAll(async () => {
  env = await createTestEnv('projector-faults');
});
afterAll(async () => {
  await env?.cleanup();
});

function messagesOf(prefix: string, events: number): StreamMessage[] {
  return [...syntheticEvents({ count: events, prefix, seed: 3 })].map((m, i) => ({
    seq: i + 1,
    subject: m.subject,
    payload: m.payload,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  }));
}

async function count(schema: string, table: string): Promise<number> {
  const r = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`${schema}.${table}`)}`.execute(env.db);
  return r.rows[0]!.n;
}

describe('the projector lease', () => {
  it.each([
    ['one statement', 1000],
    ['COPY', 0],
  ] as const)(
    'refuses a commit from a store whose lead was taken, inside its own transaction (%s)',
    async (_, oneStatementEvents) => {
      const schema = `lease_${oneStatementEvents}`;
      await migrateReadModel(env.db, schema);
      const ms = messagesOf('lease', 40);
      const old = createProjectionStore(env.db, schema, { oneStatementEvents });
      expect(await old.takeLead('old')).toBe(1);
      const first = await old.applyBatch(ms.slice(0, 20), (input) => foldBatch(input, ms.slice(0, 20), RULE));
      expect(first.lastSeq).toBe(20);

      const next = createProjectionStore(env.db, schema, { oneStatementEvents });
      expect(await next.takeLead('next')).toBe(2);

      // The old leader folded its next batch before it lost the lead; its commit must write nothing.
      const input = await next.loadInput(ms.slice(20));
      const out = foldBatch(input, ms.slice(20), RULE);
      await expect(old.commit(out, input)).rejects.toBeInstanceOf(StaleCheckpointError);
      await expect(old.loadInput(ms.slice(20))).rejects.toBeInstanceOf(FencedError);
      await expect(old.applyBatch(ms.slice(20), (i) => foldBatch(i, ms.slice(20), RULE))).rejects.toBeInstanceOf(
        FencedError,
      );
      expect((await old.readCheckpoint()).lastSeq).toBe(20);
      expect(await count(schema, 'event_ledger')).toBe(20);

      // The new leader commits the same batch.
      await next.commit(out, input);
      expect((await next.readCheckpoint()).lastSeq).toBe(40);
      expect(await count(schema, 'event_ledger')).toBe(40);
    },
  );

  it('makes a leader taking over wait for a commit that already checked the old epoch', async () => {
    const schema = 'lease_wait';
    await migrateReadModel(env.db, schema);
    const ms = messagesOf('lease', 10);
    const old = createProjectionStore(env.db, schema, { oneStatementEvents: 0 });
    await old.takeLead('old');
    const input = await old.loadInput(ms);
    const out = foldBatch(input, ms, RULE);
    // Hold a transaction that took the lease's share lock, as a commit in flight does.
    const client = await (await import('@claimtrail/shared/db')).poolOf(env.db).connect();
    try {
      await client.query('begin');
      await client.query(`select from ${schema}.projector_lease where epoch = 1 for share`);
      let taken = false;
      const takeover = createProjectionStore(env.db, schema)
        .takeLead('next')
        .then((e) => ((taken = true), e));
      await new Promise((r) => setTimeout(r, 300));
      expect(taken).toBe(false);
      await client.query('commit');
      expect(await takeover).toBe(2);
    } finally {
      client.release();
    }
    await expect(old.commit(out, input)).rejects.toBeInstanceOf(StaleCheckpointError);
    expect(await count(schema, 'event_ledger')).toBe(0);
  });
});

describe('two projectors on one schema', () => {
  it("when the leader's lock connection is terminated, again and again, one leads and every event is folded exactly once", async () => {
    const start = () =>
      startTestProjector(env, { schema: 'claimtrail_rm', batchSize: 50, rule: RULE, metaSchema: null });
    const a = await start();
    await expect.poll(() => a.projector.isActive(), { timeout: 10_000 }).toBe(true);
    const b = await start();
    try {
      // The leader's lock connection only: the standby's stays, and takes the lock at once.
      const terminate = () =>
        sql`
        select pg_terminate_backend(l.pid) from pg_locks l join pg_database d on d.oid = l.database
         where l.locktype = 'advisory' and l.granted and d.datname = current_database()`.execute(env.db);
      const published = publishSyntheticEvents(
        env.nc,
        syntheticEvents({ count: 3000, prefix: env.subjectPrefix, seed: 11 }),
        32,
      ).then((p) => p.lastSeq);
      for (let i = 0; i < 5; i += 1) {
        await new Promise((r) => setTimeout(r, 150));
        await terminate();
      }
      const last = await published;
      await expect
        .poll(async () => (await createProjectionStore(env.db, 'claimtrail_rm').readCheckpoint()).lastSeq, {
          timeout: 60_000,
          interval: 100,
        })
        .toBe(last);
      expect(await count('claimtrail_rm', 'event_ledger')).toBe(last);
      const seqs = await sql<{ n: number; lo: number; hi: number }>`
        select count(distinct seq)::int as n, min(seq)::int as lo, max(seq)::int as hi from claimtrail_rm.event_ledger`.execute(
        env.db,
      );
      expect(seqs.rows[0]).toEqual({ n: last, lo: 1, hi: last });
      // One leads once the elections settle (the last termination may have come during the last
      // batch, and the standby takes the lock a moment later).
      await expect
        .poll(() => [a.projector.isActive(), b.projector.isActive()].filter(Boolean).length, { timeout: 10_000 })
        .toBe(1);
      const lease = await env.db.withSchema('claimtrail_rm').selectFrom('projector_lease').selectAll().execute();
      expect(Number(lease[0]!.epoch)).toBeGreaterThan(1);
    } finally {
      await a.projector.stop();
      await b.projector.stop();
    }
  });
});

describe('readiness of a projector that makes no progress', () => {
  it('says not ready, naming why, while delivered events wait and nothing commits; ready again after', async () => {
    await migrateReadModel(env.db, 'stall_rm');
    const svc = await startTestProjector(env, {
      schema: 'stall_rm',
      batchSize: 50,
      rule: RULE,
      metaSchema: null,
      stallMs: 500,
    });
    try {
      await expect.poll(() => svc.projector.isActive(), { timeout: 10_000 }).toBe(true);
      const ready = async () => (await svc.app.inject({ method: 'GET', url: '/readyz' })).json<{ detail?: string }>();
      await expect
        .poll(async () => (await svc.projector.store.readCheckpoint()).lastSeq, { timeout: 30_000 })
        .toBeGreaterThan(0);
      expect(await ready()).toEqual({ status: 'ready' });
      // Hold the checkpoint so that no commit can land, then give the projector more to do.
      const holder = await (await import('@claimtrail/shared/db')).poolOf(env.db).connect();
      try {
        await holder.query('begin');
        await holder.query('lock table stall_rm.checkpoint in access exclusive mode');
        await publishSyntheticEvents(env.nc, syntheticEvents({ count: 20, prefix: env.subjectPrefix, seed: 99 }));
        await expect
          .poll(async () => (await ready()).detail ?? '', { timeout: 10_000 })
          .toMatch(/not ready: projector stalled: \d+ delivered events not applied, nothing committed for \d+ s/);
        await holder.query('rollback');
      } finally {
        holder.release();
      }
      await expect.poll(async () => (await ready()).detail ?? 'ready', { timeout: 10_000 }).toBe('ready');
    } finally {
      await svc.projector.stop();
      await svc.app.close();
    }
  });
});
