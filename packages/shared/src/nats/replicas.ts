import type { NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { ValidationError } from '../errors.ts';

/** The cluster the connected server belongs to, as its INFO tells: none for a single server. */
export interface ClusterShape {
  name: string | undefined;
  /** Servers of the cluster that advertise client URLs (the connected one included); 1 alone. */
  servers: number | undefined;
}

export function clusterOf(nc: NatsConnection): ClusterShape {
  const info = nc.info;
  if (!info?.cluster) return { name: undefined, servers: 1 };
  const urls = new Set(info.connect_urls ?? []);
  return { name: info.cluster, servers: urls.size > 0 ? urls.size : undefined };
}

function sizeSentence(shape: ClusterShape): string {
  if (shape.name === undefined)
    return 'the NATS server is a single server, not part of a cluster, so it holds 1 replica';
  if (shape.servers === undefined) return `the NATS cluster ${shape.name} does not say how many servers it has`;
  return `the NATS cluster ${shape.name} has ${shape.servers} server${shape.servers === 1 ? '' : 's'}`;
}

function refusal(replicas: number, what: string, shape: ClusterShape, cause?: unknown): ValidationError {
  const answered = cause instanceof Error ? ` (NATS answered: ${cause.message})` : '';
  const advice =
    shape.name === undefined
      ? 'use 1, or run a NATS cluster'
      : shape.servers === undefined
        ? 'use at most as many replicas as the cluster has servers'
        : `use at most ${shape.servers}`;
  const message = `cannot keep ${replicas} replicas of ${what}: ${sizeSentence(shape)}, and each replica needs a server of its own${answered}; ${advice} (docs/deployment.md)`;
  return new ValidationError(message, [{ path: 'replicas', message }]);
}

/**
 * Refuses more than one replica on a server that is not clustered, before asking it: nats-server
 * 2.9 refuses such a stream at creation but accepts it in an update, and then keeps one copy
 * while its configuration says three.
 */
export function assertReplicasFit(nc: NatsConnection, replicas: number, what: string): void {
  const shape = clusterOf(nc);
  if (replicas > 1 && shape.name === undefined) throw refusal(replicas, what, shape);
}

/**
 * JetStream's answers to a replica count the cluster cannot place, as nats-server 2.9 to 2.12
 * word them: no suitable peers (10005), insufficient resources (10023), replicas > 1 not
 * supported in non-clustered mode (10074).
 */
const PLACEMENT_CODES = new Set([10005, 10023, 10074]);
const PLACEMENT_TEXT = /no suitable peers|insufficient resources|not supported in non-clustered mode/i;

/** The refusal to give for a JetStream error, when the error says the replicas do not fit; else the error itself. */
export function explainReplicasError(nc: NatsConnection, replicas: number, what: string, err: unknown): unknown {
  if (
    err instanceof JetStreamApiError &&
    (PLACEMENT_CODES.has(err.code) || PLACEMENT_TEXT.test(err.message)) &&
    replicas > 1
  )
    return refusal(replicas, what, clusterOf(nc), err);
  return err;
}

export interface ReplicaChange {
  /** The JetStream stream (`KV_<bucket>` for a bucket). */
  stream: string;
  from: number;
  to: number;
}

/**
 * Sets the replica count of existing streams, one after the other; those that have it already are
 * left alone. A count the cluster cannot place is refused with a ValidationError naming the count
 * and the cluster's size, before any stream changes when the server is not clustered.
 */
export async function setStreamReplicas(
  nc: NatsConnection,
  streams: readonly string[],
  replicas: number,
): Promise<ReplicaChange[]> {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)
    throw new ValidationError(`replicas must be a whole number 1..5, not ${replicas}`, [
      { path: 'replicas', message: 'a whole number 1..5' },
    ]);
  assertReplicasFit(nc, replicas, `${streams.length === 1 ? 'stream' : 'streams'} ${streams.join(', ')}`);
  const jsm = await jetstreamManager(nc);
  const changes: ReplicaChange[] = [];
  for (const name of streams) {
    const { config } = await jsm.streams.info(name);
    const from = config.num_replicas;
    if (from !== replicas) {
      try {
        await jsm.streams.update(name, { ...config, num_replicas: replicas });
      } catch (err) {
        throw explainReplicasError(nc, replicas, `stream ${name}`, err);
      }
      const now = (await jsm.streams.info(name)).config.num_replicas;
      if (now !== replicas)
        throw new ValidationError(
          `stream ${name} still has ${now} replicas after asking for ${replicas}: ${sizeSentence(clusterOf(nc))}`,
          [{ path: 'replicas', message: `the server kept ${now}` }],
        );
    }
    changes.push({ stream: name, from, to: replicas });
  }
  return changes;
}
