import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { serviceUrls } from '../../testing/env.ts';
import { connectNats } from '../stream.ts';
import { kvWriteSubject } from './kv-write-subject.ts';

let nc: NatsConnection;
const bucket = `internals_kv_${randomBytes(4).toString('hex')}`;
let kv: KV;
beforeAll(async () => {
  nc = await connectNats((await serviceUrls()).natsUrl, 'internals-kv');
  kv = await new Kvm(nc).create(bucket, { history: 1 });
});
afterAll(async () => {
  await (await jetstreamManager(nc)).streams.delete(`KV_${bucket}`).catch(() => undefined);
  await nc.close();
});

/** What ingest's idempotency records take from nats.js's KV beyond its API (kv-write-subject.ts names the version). */
describe("the nats.js KV internal behind a key's write subject", () => {
  it('a bucket has subjectForKey(key, edit), which gives $KV.<bucket>.<key>', () => {
    expect(typeof (kv as KV & { subjectForKey?: unknown }).subjectForKey, 'bucket.subjectForKey').toBe('function');
    const subjectOf = kvWriteSubject(kv);
    expect(subjectOf).toBeDefined();
    expect(subjectOf!('report.abc')).toBe(`$KV.${bucket}.report.abc`);
  });

  it('a publish on that subject is what the bucket reads back under the key', async () => {
    const subjectOf = kvWriteSubject(kv)!;
    const ack = await jetstream(nc).publish(subjectOf('report.k1'), 'written by subject');
    const entry = await kv.get('report.k1');
    expect(entry?.string()).toBe('written by subject');
    expect(entry?.revision).toBe(ack.seq);
  });

  it('is undefined for a bucket without it', () => {
    expect(kvWriteSubject({} as KV)).toBeUndefined();
  });
});
