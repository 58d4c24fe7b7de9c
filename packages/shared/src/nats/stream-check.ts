import type { NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiCodes, jetstreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { ClaimtrailError } from '../errors.ts';
import {
  BUCKET_CONFIG,
  bindBucket,
  bucketNames,
  bucketStreamOf,
  isApiError,
  serverFeatures,
  streamConfigOf,
  type StreamSettings,
} from './stream.ts';

/** The stream or a bucket a service needs is not there: `claimtrail migrate` creates them. */
export class NotProvisionedError extends ClaimtrailError {
  constructor(message: string) {
    super('not_provisioned', message);
    this.name = 'NotProvisionedError';
  }
}

/** A setting of the stream or a bucket that is not what this process is configured for. */
export interface SettingDifference {
  /** `stream <name>` or `bucket <name>`. */
  of: string;
  /** The stream setting (JetStream's name for it). */
  setting: string;
  found: string;
  wanted: string;
  /** One line for the log: what differs, the variable that says otherwise, and what to run. */
  message: string;
}

const MIGRATE = '`claimtrail migrate`';
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/**
 * How the stream differs from what `s` asks for (the configuration `claimtrail migrate` gives
 * it: streamConfigOf), setting by setting; empty when it is as wanted. Refuses, with a
 * NotProvisionedError naming the stream and `claimtrail migrate`, a stream that does not exist.
 * Changes nothing.
 */
export async function checkStream(nc: NatsConnection, s: StreamSettings): Promise<SettingDifference[]> {
  const jsm = await jetstreamManager(nc);
  let found: StreamConfig;
  try {
    found = (await jsm.streams.info(s.stream)).config;
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound))
      throw new NotProvisionedError(
        `stream ${s.stream} does not exist; run ${MIGRATE}, which creates it and its buckets (or set CLAIMTRAIL_STREAM to the stream's name)`,
      );
    throw err;
  }
  const wanted = streamConfigOf(s, serverFeatures(nc));
  const of = `stream ${s.stream}`;
  const out: SettingDifference[] = [];
  const differs = (setting: string, foundText: string, wantedText: string, message: string) =>
    out.push({ of, setting, found: foundText, wanted: wantedText, message: `${of}: ${message}` });

  const subject = wanted.subjects[0]!;
  if (!found.subjects?.includes(subject))
    differs(
      'subjects',
      (found.subjects ?? []).join(', '),
      subject,
      `its subjects (${(found.subjects ?? []).join(', ') || 'none'}) do not include ${subject} (CLAIMTRAIL_SUBJECT_PREFIX=${s.subjectPrefix}), so events published there are not stored; ${MIGRATE} adds it`,
    );
  if (found.duplicate_window !== wanted.duplicate_window) {
    const foundS = found.duplicate_window / 1e9;
    differs(
      'duplicate_window',
      `${foundS} s`,
      `${s.duplicateWindowS} s`,
      `the duplicate window is ${foundS} s, CLAIMTRAIL_DUPLICATE_WINDOW_S is ${s.duplicateWindowS}: a repeat is dropped by JetStream within ${foundS} s only; ${MIGRATE} sets it`,
    );
  }
  if (!found.deny_delete)
    differs(
      'deny_delete',
      'false',
      'true',
      `deleting messages is allowed, so the event history can lose events; ${MIGRATE} denies it`,
    );
  if (!found.deny_purge)
    differs(
      'deny_purge',
      'false',
      'true',
      `purging is allowed, so the event history can be emptied; ${MIGRATE} denies it`,
    );
  if (found.num_replicas !== wanted.num_replicas)
    differs(
      'num_replicas',
      String(found.num_replicas),
      String(wanted.num_replicas),
      `${plural(found.num_replicas, 'replica')}, CLAIMTRAIL_REPLICAS is ${wanted.num_replicas}; \`claimtrail migrate --replicas ${wanted.num_replicas}\` changes it`,
    );
  for (const setting of ['storage', 'retention', 'discard', 'allow_direct', 'allow_rollup_hdrs'] as const) {
    if (found[setting] === wanted[setting]) continue;
    differs(
      setting,
      String(found[setting]),
      String(wanted[setting]),
      `${setting} is ${String(found[setting])}, not ${String(wanted[setting])} as ${MIGRATE} creates it (an existing stream keeps it)`,
    );
  }
  return out;
}

/**
 * The KV buckets ingest keeps its memory in, opened without creating them (their handles time
 * out after `timeoutMs`), and how they differ from what `claimtrail migrate` creates (one value
 * a key, on file, `replicas` copies). Refuses, with a NotProvisionedError, a bucket that does not
 * exist.
 */
export async function openProvisionedBuckets(
  nc: NatsConnection,
  stream: string,
  o: { replicas?: number; timeoutMs?: number } = {},
): Promise<{ idempotency: KV; tokens: KV; identities: KV; differences: SettingDifference[] }> {
  const jsm = await jetstreamManager(nc);
  const replicas = o.replicas ?? 1;
  const differences: SettingDifference[] = [];
  const open = async (bucket: string) => {
    let found: StreamConfig;
    try {
      found = (await jsm.streams.info(bucketStreamOf(bucket))).config;
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound))
        throw new NotProvisionedError(`bucket ${bucket} does not exist; run ${MIGRATE}, which creates it`);
      throw err;
    }
    const of = `bucket ${bucket}`;
    const differs = (setting: string, f: string, w: string, message: string) =>
      differences.push({ of, setting, found: f, wanted: w, message: `${of}: ${message}` });
    if (found.max_msgs_per_subject !== BUCKET_CONFIG.history)
      differs(
        'max_msgs_per_subject',
        String(found.max_msgs_per_subject),
        String(BUCKET_CONFIG.history),
        `it keeps ${found.max_msgs_per_subject} values a key, not ${BUCKET_CONFIG.history} as ${MIGRATE} creates it`,
      );
    if (found.storage !== BUCKET_CONFIG.storage)
      differs(
        'storage',
        String(found.storage),
        String(BUCKET_CONFIG.storage),
        `storage is ${String(found.storage)}, not ${String(BUCKET_CONFIG.storage)} as ${MIGRATE} creates it`,
      );
    if (found.num_replicas !== replicas)
      differs(
        'num_replicas',
        String(found.num_replicas),
        String(replicas),
        `${plural(found.num_replicas, 'replica')}, CLAIMTRAIL_REPLICAS is ${replicas}; \`claimtrail migrate --replicas ${replicas}\` changes it`,
      );
    return bindBucket(nc, bucket, found.allow_direct === true, o.timeoutMs);
  };
  const names = bucketNames(stream);
  const idempotency = await open(names.idempotency);
  const tokens = await open(names.tokens);
  const identities = await open(names.identities);
  return { idempotency, tokens, identities, differences };
}
