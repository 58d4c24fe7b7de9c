import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  StoreCompression,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { nanos } from '@nats-io/nats-core';
import { featuresOf, type ServerFeatures } from './server-features.ts';
import { assertReplicasFit, explainReplicasError, setStreamReplicas, type ReplicaChange } from './replicas.ts';

export interface StreamSettings {
  stream: string;
  subjectPrefix: string;
  duplicateWindowS: number;
  /**
   * Servers that keep a copy of the stream (`CLAIMTRAIL_REPLICAS`, default 1), used only when the
   * stream is created: an existing stream keeps its count until `changeReplicas` changes it.
   */
  replicas?: number;
}

/** Connects with the fastest client settings; names the connection for the server's monitoring. */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  try {
    return await connect({
      servers: url.split(','),
      name,
      noAsyncTraces: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
  } catch (err) {
    // The one message every process prints when NATS does not answer at start.
    throw new Error(`cannot reach NATS at ${url} (set NATS_URL): ${(err as Error).message}`, { cause: err });
  }
}

export function serverFeatures(nc: NatsConnection): ServerFeatures {
  return featuresOf(nc.info?.version ?? '0.0.0');
}

export function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/**
 * The event stream's configuration: file storage, no delete, no purge, limits retention with no
 * limits, direct gets, the duplicate window and replicas of `s`; metadata and compression where
 * the server has them. What `claimtrail migrate` creates, and what services check it against.
 */
export function streamConfigOf(
  s: StreamSettings,
  features: ServerFeatures,
): Partial<StreamConfig> & { name: string; subjects: string[]; duplicate_window: number; num_replicas: number } {
  const wanted: ReturnType<typeof streamConfigOf> = {
    name: s.stream,
    subjects: [`${s.subjectPrefix}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    deny_delete: true,
    deny_purge: true,
    allow_rollup_hdrs: false,
    allow_direct: true,
    duplicate_window: nanos(s.duplicateWindowS * 1000),
    num_replicas: s.replicas ?? 1,
  };
  if (features.metadata) wanted.metadata = { 'claimtrail.stream': 'events', 'claimtrail.schema': '1' };
  if (features.compression) wanted.compression = StoreCompression.S2;
  return wanted;
}

/**
 * Creates the event stream (streamConfigOf), or brings an existing one's subjects, duplicate
 * window and delete and purge denials to the wanted settings. Idempotent; `claimtrail migrate`
 * runs it, and `claimtrail import` into a stream not yet made (services only check the stream:
 * stream-check.ts). The replica count of an existing stream is never changed here, so a migrate
 * with another `CLAIMTRAIL_REPLICAS` does not undo `claimtrail migrate --replicas`.
 */
export async function provisionStream(
  nc: NatsConnection,
  s: StreamSettings,
): Promise<{ jsm: JetStreamManager; features: ServerFeatures; created: boolean; replicas: number }> {
  const replicas = s.replicas ?? 1;
  const jsm = await jetstreamManager(nc);
  const features = serverFeatures(nc);
  const wanted = streamConfigOf(s, features);
  try {
    const info = await jsm.streams.info(s.stream);
    const c = info.config;
    if (
      c.duplicate_window !== wanted.duplicate_window ||
      !c.subjects?.includes(`${s.subjectPrefix}.>`) ||
      !c.deny_delete ||
      !c.deny_purge
    ) {
      await jsm.streams.update(s.stream, {
        ...c,
        subjects: [`${s.subjectPrefix}.>`],
        duplicate_window: wanted.duplicate_window,
        deny_delete: true,
        deny_purge: true,
      });
    }
    return { jsm, features, created: false, replicas: c.num_replicas };
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
  }
  assertReplicasFit(nc, replicas, `stream ${s.stream}`);
  try {
    await jsm.streams.add(wanted);
  } catch (err) {
    throw explainReplicasError(nc, replicas, `stream ${s.stream}`, err);
  }
  return { jsm, features, created: true, replicas };
}

/**
 * The subject filter a consumer of the events needs: none when the stream holds only
 * `<prefix>.>` (every message matches), else that subject. On nats-server 2.9 a filtered consumer
 * makes the server walk every subject of the stream at each create and info: on a stream of
 * 1,000,000 events (~900,000 subjects, one per claim) on a slow 2-core machine, 7 s to create and
 * 8 s per info, past the client's 5 s timeout; without the filter, 16 ms.
 */
export async function eventFilterOf(
  jsm: JetStreamManager,
  stream: string,
  subjectPrefix: string,
): Promise<string | undefined> {
  const all = `${subjectPrefix}.>`;
  const subjects = (await jsm.streams.info(stream)).config.subjects ?? [];
  return subjects.length === 1 && subjects[0] === all ? undefined : all;
}

export function bucketNames(stream: string) {
  return {
    idempotency: `${stream}_idempotency`,
    tokens: `${stream}_tokens`,
    identities: `${stream}_identities`,
  };
}

/** The JetStream stream that holds a KV bucket. */
export function bucketStreamOf(bucket: string): string {
  return `KV_${bucket}`;
}

/**
 * How long a request to a bucket (a token lookup, an idempotency record read) waits for NATS
 * before it fails, and its HTTP request is answered 503: nats.js's default is 5 s, and a direct
 * get on a healthy server takes about a millisecond.
 */
export const KV_REQUEST_TIMEOUT_MS = 1000;

/** Each bucket keeps the last value of a key only, on file. */
export const BUCKET_CONFIG = { history: 1, storage: StorageType.File } as const;

/**
 * A handle on an existing bucket whose requests time out after `timeoutMs`. Binding asks the
 * server nothing, so whether the bucket allows direct gets (from its stream's configuration) is
 * passed on.
 */
export function bindBucket(nc: NatsConnection, bucket: string, allowDirect: boolean, timeoutMs?: number): Promise<KV> {
  const fast = new Kvm(jetstream(nc, { timeout: timeoutMs ?? KV_REQUEST_TIMEOUT_MS }));
  return fast.open(bucket, { allow_direct: allowDirect });
}

/**
 * Opens (creating if missing) the KV buckets ingest keeps its memory in (idempotency records,
 * tokens, and the identity index: identity-index.ts); `claimtrail migrate`
 * creates them (services only open them: stream-check.ts). `replicas` applies only to a bucket
 * created now; an existing one keeps its count. Creating one waits nats.js's default 5 s (placing
 * replicas can take a while); the handles returned time out after `timeoutMs`.
 */
export async function openBuckets(
  nc: NatsConnection,
  stream: string,
  o: { replicas?: number; timeoutMs?: number } = {},
): Promise<{ idempotency: KV; tokens: KV; identities: KV }> {
  const kvm = new Kvm(nc);
  const names = bucketNames(stream);
  const replicas = o.replicas ?? 1;
  const open = async (bucket: string) => {
    let created: KV;
    try {
      created = await kvm.create(bucket, { ...BUCKET_CONFIG, replicas });
    } catch (err) {
      throw explainReplicasError(nc, replicas, `bucket ${bucket}`, err);
    }
    const status = await created.status();
    return bindBucket(nc, bucket, status.streamInfo.config.allow_direct === true, o.timeoutMs);
  };
  const [idempotency, tokens, identities] = await Promise.all([
    open(names.idempotency),
    open(names.tokens),
    open(names.identities),
  ]);
  return { idempotency, tokens, identities };
}

/**
 * Changes the replica count of the event stream and its buckets (the streams `KV_<bucket>`),
 * which must exist. A count the cluster cannot place is refused with a ValidationError that
 * names it and the cluster's size.
 */
export async function changeReplicas(nc: NatsConnection, stream: string, replicas: number): Promise<ReplicaChange[]> {
  const names = bucketNames(stream);
  return setStreamReplicas(
    nc,
    [stream, ...[names.idempotency, names.tokens, names.identities].map(bucketStreamOf)],
    replicas,
  );
}
