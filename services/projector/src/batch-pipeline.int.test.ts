import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { migrateReadModel } from '@claimtrail/shared/db';
import { canonicalJson } from '@claimtrail/shared/events';
import { uuidv7 } from '@claimtrail/shared/identity';
import { createTestEnv, syntheticEvents, type TestEnv } from '@claimtrail/shared/testing';
import { readModelDigest } from '../../../tests/helpers/read-model-digest.ts';
import { foldBatch } from './fold.ts';
import type { StreamMessage } from './stream-message.ts';
import {
  createProjectionStore,
  ONE_STATEMENT_EVENTS,
  StaleCheckpointError,
  type ProjectionStore,
  type ProjectionStoreOptions,
} from './projection-store.ts';
import { createBatchPipeline } from './batch-pipeline.ts';

let env: TestEnv;
const RULE = 'approx-5pct@1';
const fold = (input: Parameters<typeof foldBatch>[0], batch: readonly StreamMessage[]) => foldBatch(input, batch, RULE);

/**
 * 600 workload events (corrections and echoes of claims made a batch or two before) plus events
 * whose outcome depends on the previous batch's state: a repeated event id, a report submitted
 * twice, a claim parked and a later event of that claim waiting behind it.
 */
function messages(): StreamMessage[] {
  const out: StreamMessage[] = [];
  const time = (seq: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString();
  const add = (subject: string, payload: string) =>
    out.push({ seq: out.length + 1, subject, payload, time: time(out.length + 1) });
  const envelope = (i: number, type: string, data: object) =>
    canonicalJson({
      eventId: uuidv7(Date.UTC(2026, 1, 1) + i, `pipe-${i}`),
      type,
      version: 1,
      recordedAt: new Date(Date.UTC(2026, 1, 1) + i * 1000).toISOString(),
      actor: 'tester',
      requestId: `pipe-${i}`,
      data,
    });
  for (const m of syntheticEvents({ count: 600, prefix: 'pipe', seed: 7 })) {
    add(m.subject, m.payload);
    const n = out.length;
    if (n === 45) add(out[20]!.subject, out[20]!.payload); // the event at seq 21 again (a repeat)
    if (n === 130) {
      const first = out.find((x) => x.payload.includes('"ReportSubmitted"'))!;
      const data = (JSON.parse(first.payload) as { data: object }).data;
      add(first.subject, envelope(1, 'ReportSubmitted', data)); // the same report id, a new event
    }
    if (n === 200)
      add('pipe.claim.t.unknown', envelope(2, 'ClaimCited', { claimId: 'clm_unknown', reportId: 'rpt_x', via: [] }));
    if (n === 230)
      add(
        'pipe.claim.t.unknown',
        envelope(3, 'ClaimCorrected', { claimId: 'clm_unknown', changes: { quote: 'q' }, reason: 'r' }),
      );
  }
  return out;
}

function batches(all: StreamMessage[], size: number): StreamMessage[][] {
  const out: StreamMessage[][] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.slice(i, i + size));
  return out;
}

async function sequential(schema: string, all: StreamMessage[], size: number) {
  const store = createProjectionStore(env.db, schema);
  for (const b of batches(all, size)) await store.applyBatch(b, (input) => fold(input, b));
}

/** Folds `all` through a pipeline; returns how many times a batch was retried. */
async function pipelined(store: ProjectionStore, all: StreamMessage[], size: number): Promise<number> {
  let retries = 0;
  const p = createBatchPipeline({ store, fold, onRetry: () => (retries += 1) });
  // As the projector does: a batch goes in once the one before the last is folded.
  for (const b of batches(all, size)) await p.submitInTurn(b);
  await p.drain();
  return retries;
}

async function fresh(schema: string, o: ProjectionStoreOptions = {}) {
  const r = await migrateReadModel(env.db, schema);
  expect(r.error).toBeUndefined();
  return createProjectionStore(env.db, schema, o);
}

// Small batches are committed in one statement, large ones with COPY in a transaction: every
// test that commits runs both ways (oneStatementEvents 0 forces COPY).
const paths = [
  { path: 'one statement', oneStatementEvents: ONE_STATEMENT_EVENTS },
  { path: 'COPY', oneStatementEvents: 0 },
] as const;

beforeAll(async () => {
  env = await createTestEnv('pipeline');
});
afterAll(async () => {
  await env?.cleanup();
});

describe('pipelined batches', () => {
  const all = messages();

  it('write the same rows as batches folded one at a time', async () => {
    await fresh('seq_rm');
    await sequential('seq_rm', all, 20);
    const expected = await readModelDigest(env.db, 'seq_rm');
    // The crafted events did what they were made for, so the comparison covers them.
    expect(expected.event_repeats!.rows).toBe(1);
    expect(expected.dead_letters!.rows).toBe(3);
    expect(expected.claim_versions!.rows).toBeGreaterThan(500);
  });

  it.each(paths)('write the same rows when pipelined ($path)', async ({ path, oneStatementEvents }) => {
    const expected = await readModelDigest(env.db, 'seq_rm');
    // Writes overlap: a batch's commit starts while the one before it is still being written.
    const schema = `pipe_${oneStatementEvents}_rm`;
    const store = await fresh(schema, { oneStatementEvents });
    let writing = 0;
    let overlapped = 0;
    const counting: ProjectionStore = {
      ...store,
      async commit(out, prev, after) {
        writing += 1;
        if (writing > 1) overlapped += 1;
        try {
          await store.commit(out, prev, after);
        } finally {
          writing -= 1;
        }
      },
    };
    // No retries: each batch was folded on the state its predecessor left, and moved the
    // checkpoint after its predecessor was committed, never refolded.
    expect(await pipelined(counting, all, 20)).toBe(0);
    expect(overlapped).toBeGreaterThan(0);
    expect(await readModelDigest(env.db, schema)).toEqual(expected);
    // The path named was the one taken (batches with repeats, parked events or sources always take COPY).
    if (path === 'COPY') expect(store.commits.oneStatement).toBe(0);
    else expect(store.commits.oneStatement).toBeGreaterThan(store.commits.copy);
    expect(store.commits.copy).toBeGreaterThan(0);
  });

  it.each(paths)(
    'recover from commits that fail before or after the database committed ($path)',
    async ({ oneStatementEvents }) => {
      const expected = await readModelDigest(env.db, 'seq_rm');
      const schema = `flaky_${oneStatementEvents}_rm`;
      const store = await fresh(schema, { oneStatementEvents });
      let n = 0;
      const flaky: ProjectionStore = {
        ...store,
        async commit(out, prev, after) {
          n += 1;
          if (n === 3) throw new Error('connection lost before commit');
          await store.commit(out, prev, after);
          if (n === 7 || n === 12) throw new Error('connection lost after commit');
        },
      };
      expect(await pipelined(flaky, all, 20)).toBeGreaterThanOrEqual(3);
      expect(n).toBeGreaterThan(12);
      expect(await readModelDigest(env.db, schema)).toEqual(expected);
    },
  );

  it.each(paths)(
    'refuse a commit whose batch was folded from another checkpoint, writing nothing ($path)',
    async ({ path, oneStatementEvents }) => {
      const schema = `stale_${oneStatementEvents}_rm`;
      const store = await fresh(schema, { oneStatementEvents });
      const [b1, b2] = batches(all, 20);
      const out1 = await store.applyBatch(b1!, (input) => fold(input, b1!));
      const input2 = await store.loadInput(b2!);
      const out2 = fold(input2, b2!);
      const stale = { ...input2, lastSeq: 3, chainHash: out1.chainHash };
      await expect(store.commit(out2, stale)).rejects.toBeInstanceOf(StaleCheckpointError);
      const wrongChain = { ...input2, chainHash: '0'.repeat(64) };
      await expect(store.commit(out2, wrongChain)).rejects.toBeInstanceOf(StaleCheckpointError);
      const count = async (table: string) =>
        (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`${schema}.${table}`)}`.execute(env.db))
          .rows[0]!.n;
      const before = { ledger: await count('event_ledger'), versions: await count('claim_versions') };
      expect(before.ledger).toBe(20);
      await store.commit(out2, input2);
      expect((await store.readCheckpoint()).lastSeq).toBe(40);
      expect(await count('event_ledger')).toBe(40);
      expect(await count('claim_versions')).toBeGreaterThan(before.versions);
      // Both refusals and the commit went the way the test names.
      expect(path === 'COPY' ? store.commits.copy : store.commits.oneStatement).toBe(1);
    },
  );
});

describe('an event Postgres refuses to store', () => {
  it.each(paths)(
    'is found by splitting its batch and parked with the reason; everything else flows ($path)',
    async ({ oneStatementEvents }) => {
      const all = messages().slice(0, 100);
      // A payload with a NUL character, which Postgres text cannot hold: the ledger row is refused.
      const poisoned = all.map((m) => (m.seq === 37 ? { ...m, payload: `${m.payload.slice(0, 20)}\u0000x` } : m));
      const schema = `refused_${oneStatementEvents}_rm`;
      const store = await fresh(schema, { oneStatementEvents });
      let retries = 0;
      const p = createBatchPipeline({ store, fold, onRetry: () => (retries += 1) });
      for (const b of batches(poisoned, 20)) await p.submitInTurn(b);
      await p.drain();
      expect(retries).toBeGreaterThan(0);
      expect((await store.readCheckpoint()).lastSeq).toBe(100);
      // Every seq is in the ledger but the repeat at seq 46, which is in event_repeats.
      const ledger = await sql<{
        n: number;
      }>`select count(*)::int as n from ${sql.table(`${schema}.event_ledger`)}`.execute(env.db);
      expect(ledger.rows[0]!.n).toBe(99);
      const dead = (
        await sql<{
          reason: string;
          payload: string;
        }>`select reason, payload from ${sql.table(`${schema}.dead_letters`)}
           where seq = 37`.execute(env.db)
      ).rows;
      expect(dead).toHaveLength(1);
      expect(dead[0]!.reason).toMatch(/^Postgres refused to store it \(22021\)/);
      expect(dead[0]!.payload).toContain('\uFFFD');
      // The other 99 events are applied as a clean fold of them would apply them.
      const versions = await sql<{
        n: number;
      }>`select count(*)::int as n from ${sql.table(`${schema}.claim_versions`)}`.execute(env.db);
      expect(versions.rows[0]!.n).toBeGreaterThan(0);
    },
  );
});
