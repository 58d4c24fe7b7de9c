import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KV } from '@nats-io/kv';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { openBuckets } from '@claimtrail/shared/nats';
import { sha256Hex } from '@claimtrail/shared/identity';
import { ConflictError, UnavailableError } from '@claimtrail/shared/errors';
import { createJetStreamPublisher, type JetStreamPublisher } from './event-store.ts';
import { createIdempotency, kvRecordWriter } from './idempotency.ts';

let env: TestEnv;
let kv: KV;
const publishers: JetStreamPublisher[] = [];

beforeAll(async () => {
  env = await createTestEnv('idempotency');
  kv = (await openBuckets(env.nc, env.stream)).idempotency;
});
afterAll(async () => {
  for (const p of publishers) p.close();
  await env?.cleanup();
});

const fresh = (bodyHash: string, recordedAt: string) => ({ bodyHash, recordedAt, requestId: 'r', actor: 'alice' });

// Both ways of writing records keep the same guarantees; ingest uses the publisher where it can.
describe.each(['publisher', 'kv'] as const)('idempotency records written through %s', (via) => {
  const scope = `s-${via}`;
  let idem: ReturnType<typeof createIdempotency<{ n: number }>>;
  beforeAll(() => {
    const publisher = createJetStreamPublisher(env.nc, 2000);
    publishers.push(publisher);
    const records = kvRecordWriter(kv, via === 'publisher' ? publisher : undefined);
    // nats.js's buckets tell their subjects: the fast path is the one taken.
    expect(records.via).toBe(via);
    idem = createIdempotency<{ n: number }>(kv, scope, records.write);
  });

  it('lets a new key proceed, a retry of it redo the first attempt, and answers a finished one', async () => {
    const first = await idem.claim('k1', fresh('h1', '2025-01-01T00:00:00.000Z'));
    expect(first).toMatchObject({
      kind: 'proceed',
      record: { state: 'pending', recordedAt: '2025-01-01T00:00:00.000Z' },
    });
    // A retry of an attempt that did not finish takes the first attempt's record (its recordedAt).
    const retry = await idem.claim('k1', fresh('h1', '2025-06-01T00:00:00.000Z'));
    expect(retry).toMatchObject({ kind: 'proceed', record: { recordedAt: '2025-01-01T00:00:00.000Z' } });
    if (first.kind !== 'proceed') throw new Error('unreachable');
    await first.complete({ n: 1 });
    expect(await idem.claim('k1', fresh('h1', '2025-07-01T00:00:00.000Z'))).toEqual({
      kind: 'done',
      response: { n: 1 },
    });
  });

  it('refuses the same key with a different body', async () => {
    await idem.claim('k2', fresh('h2', '2025-01-01T00:00:00.000Z'));
    await expect(idem.claim('k2', fresh('other', '2025-01-01T00:00:00.000Z'))).rejects.toBeInstanceOf(ConflictError);
  });

  it('lets exactly one of racing first attempts write its record', async () => {
    const all = await Promise.all(
      Array.from({ length: 8 }, (_, i) => idem.claim('k3', fresh('h3', `2025-01-01T00:00:0${i}.000Z`))),
    );
    const recordedAts = new Set(all.map((c) => (c.kind === 'proceed' ? c.record.recordedAt : 'done')));
    expect(recordedAts.size).toBe(1);
    const stored = await kv.get(`${scope}.${sha256Hex('k3')}`);
    expect(stored?.revision).toBeGreaterThan(0);
    expect(stored?.json<{ recordedAt: string }>().recordedAt).toBe([...recordedAts][0]);
  });

  it('writes a record again over a delete marker', async () => {
    const first = await idem.claim('k4', fresh('h4', '2025-01-01T00:00:00.000Z'));
    if (first.kind !== 'proceed') throw new Error('unreachable');
    await first.complete({ n: 4 });
    await kv.delete(`${scope}.${sha256Hex('k4')}`);
    const again = await idem.claim('k4', fresh('h4', '2025-02-01T00:00:00.000Z'));
    expect(again).toMatchObject({ kind: 'proceed', record: { recordedAt: '2025-02-01T00:00:00.000Z' } });
  });
});

describe('idempotency records through a publisher that cannot publish', () => {
  it('answers 503 (UnavailableError), not a 500', async () => {
    const publisher = createJetStreamPublisher(env.nc, 2000);
    publisher.close();
    const idem = createIdempotency<{ n: number }>(kv, 'closed', kvRecordWriter(kv, publisher).write);
    await expect(idem.claim('k5', fresh('h5', '2025-01-01T00:00:00.000Z'))).rejects.toBeInstanceOf(UnavailableError);
  });
});
