import type { KV } from '@nats-io/kv';

/**
 * The one place that reaches into nats.js's KV: the subject a bucket writes a key on. Written for
 * @nats-io/kv 3.4.0 (pinned exactly in package.json), whose bucket has `subjectForKey(key, edit)`
 * (it knows mirrors and JetStream domains), used by its own `put` but not part of the KV
 * interface. kv-write-subject.int.test.ts fails when it changes. Feature-detected: undefined when
 * this nats.js has none.
 */
export function kvWriteSubject(kv: KV): ((key: string) => string) | undefined {
  const bucket = kv as KV & { subjectForKey?: (k: string, edit?: boolean) => string };
  const subjectForKey = bucket.subjectForKey;
  if (typeof subjectForKey !== 'function') return undefined;
  return (key) => subjectForKey.call(bucket, key, true);
}
