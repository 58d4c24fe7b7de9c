import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { NatsConnection } from '@nats-io/transport-node';
import { serviceUrls } from '../testing/env.ts';
import { bucketNames, bucketStreamOf, connectNats, openBuckets, provisionStream } from './stream.ts';
import { checkStream, NotProvisionedError, openProvisionedBuckets } from './stream-check.ts';

let nc: NatsConnection;
const made: string[] = [];
/** A stream name and subject prefix of this test's own. */
function names() {
  const id = randomBytes(4).toString('hex');
  const stream = `T_CHECK_${id.toUpperCase()}`;
  made.push(stream, bucketStreamOf(bucketNames(stream).idempotency), bucketStreamOf(bucketNames(stream).tokens));
  return { stream, subjectPrefix: `t_check_${id}`, duplicateWindowS: 120 };
}

beforeAll(async () => {
  nc = await connectNats((await serviceUrls()).natsUrl, 'stream-check');
});
afterAll(async () => {
  const jsm = await jetstreamManager(nc);
  for (const s of made) await jsm.streams.delete(s).catch(() => undefined);
  await nc.close();
});

describe('checkStream', () => {
  it('refuses a stream that does not exist, naming it and claimtrail migrate, and creates nothing', async () => {
    const s = names();
    const refused = await checkStream(nc, s).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NotProvisionedError);
    expect((refused as Error).message).toBe(
      `stream ${s.stream} does not exist; run \`claimtrail migrate\`, which creates it and its buckets (or set CLAIMTRAIL_STREAM to the stream's name)`,
    );
    await expect((await jetstreamManager(nc)).streams.info(s.stream)).rejects.toThrow(/stream not found/);
  });

  it('finds nothing to say of a stream as claimtrail migrate made it', async () => {
    const s = names();
    await provisionStream(nc, s);
    expect(await checkStream(nc, s)).toEqual([]);
  });

  it('names each setting that differs, and the variable that asks for another value, and changes nothing', async () => {
    const s = names();
    await provisionStream(nc, s);
    const jsm = await jetstreamManager(nc);
    const before = (await jsm.streams.info(s.stream)).config;
    const differences = await checkStream(nc, { ...s, duplicateWindowS: 300, replicas: 3 });
    expect(differences.map((d) => d.setting)).toEqual(['duplicate_window', 'num_replicas']);
    expect(differences[0]).toEqual({
      of: `stream ${s.stream}`,
      setting: 'duplicate_window',
      found: '120 s',
      wanted: '300 s',
      message: `stream ${s.stream}: the duplicate window is 120 s, CLAIMTRAIL_DUPLICATE_WINDOW_S is 300: a repeat is dropped by JetStream within 120 s only; \`claimtrail migrate\` sets it`,
    });
    expect(differences[1]!.message).toBe(
      `stream ${s.stream}: 1 replica, CLAIMTRAIL_REPLICAS is 3; \`claimtrail migrate --replicas 3\` changes it`,
    );
    expect((await jsm.streams.info(s.stream)).config).toEqual(before);
  });

  it('names a stream another tool made: subjects, denials, storage, retention', async () => {
    const s = names();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: s.stream,
      subjects: [`${s.subjectPrefix}_other.>`],
      storage: StorageType.Memory,
      retention: RetentionPolicy.Interest,
      duplicate_window: nanos(120_000),
      allow_direct: true,
    });
    const differences = await checkStream(nc, s);
    expect(differences.map((d) => d.setting)).toEqual([
      'subjects',
      'deny_delete',
      'deny_purge',
      'storage',
      'retention',
    ]);
    expect(differences[0]!.message).toContain(
      `do not include ${s.subjectPrefix}.> (CLAIMTRAIL_SUBJECT_PREFIX=${s.subjectPrefix})`,
    );
    expect(differences[1]!.message).toBe(
      `stream ${s.stream}: deleting messages is allowed, so the event history can lose events; \`claimtrail migrate\` denies it`,
    );
    expect(differences[3]!.message).toBe(
      `stream ${s.stream}: storage is memory, not file as \`claimtrail migrate\` creates it (an existing stream keeps it)`,
    );
  });
});

describe('openProvisionedBuckets', () => {
  it('refuses a bucket that does not exist, naming it and claimtrail migrate, and creates none', async () => {
    const s = names();
    await provisionStream(nc, s);
    const refused = await openProvisionedBuckets(nc, s.stream).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NotProvisionedError);
    const bucket = bucketNames(s.stream).idempotency;
    expect((refused as Error).message).toBe(
      `bucket ${bucket} does not exist; run \`claimtrail migrate\`, which creates it`,
    );
    await expect((await jetstreamManager(nc)).streams.info(bucketStreamOf(bucket))).rejects.toThrow(/stream not found/);
  });

  it('opens the buckets claimtrail migrate made, with nothing to say, and names a replica count that differs', async () => {
    const s = names();
    await provisionStream(nc, s);
    await openBuckets(nc, s.stream);
    const opened = await openProvisionedBuckets(nc, s.stream);
    expect(opened.differences).toEqual([]);
    await opened.tokens.put('k', 'v');
    expect((await opened.tokens.get('k'))?.string()).toBe('v');
    const three = await openProvisionedBuckets(nc, s.stream, { replicas: 3 });
    expect(three.differences.map((d) => `${d.of} ${d.setting} ${d.found} → ${d.wanted}`)).toEqual([
      `bucket ${bucketNames(s.stream).idempotency} num_replicas 1 → 3`,
      `bucket ${bucketNames(s.stream).tokens} num_replicas 1 → 3`,
      `bucket ${bucketNames(s.stream).identities} num_replicas 1 → 3`,
    ]);
  });
});
