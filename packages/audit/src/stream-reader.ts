import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, JetStreamApiCodes } from '@nats-io/jetstream';
import { eventFilterOf, isApiError } from '@claimtrail/shared/nats';
import type { StreamMessage } from '@claimtrail/projector';
import { toStreamMessage } from '@claimtrail/projector';
import { AuditError } from './audit-error.ts';

export interface StreamBounds {
  firstSeq: number;
  lastSeq: number;
  messages: number;
}

/** First and last seq of the stream now; an unknown stream is an AuditError naming it. */
export async function streamBounds(nc: NatsConnection, stream: string): Promise<StreamBounds> {
  const jsm = await jetstreamManager(nc);
  try {
    const info = await jsm.streams.info(stream);
    return { firstSeq: info.state.first_seq, lastSeq: info.state.last_seq, messages: info.state.messages };
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound))
      throw new AuditError(`stream ${stream} does not exist (set CLAIMTRAIL_STREAM)`);
    throw err;
  }
}

export interface ReadStreamOptions {
  stream: string;
  subjectPrefix: string;
  /** First seq wanted (default 1). */
  fromSeq?: number;
  /** Last seq wanted, inclusive; at most the stream's last seq when reading starts. */
  toSeq: number;
  batchSize: number;
  /** Narrows to subjects (e.g. one topic's claims); seqs then have holes. */
  filterSubjects?: string[];
}

/**
 * Reads the stream in seq order through an ordered consumer, yielding batches of at most
 * `batchSize` messages. Only one batch plus the consumer's small buffer is held at a time, so
 * memory does not grow with the length of the stream.
 */
export async function* readStream(nc: NatsConnection, o: ReadStreamOptions): AsyncGenerator<StreamMessage[]> {
  const from = Math.max(1, o.fromSeq ?? 1);
  if (o.toSeq < from) return;
  // One manager for the reads below (each jetstreamManager() asks the server for its API first).
  const jsm = await jetstreamManager(nc);
  const moreMatching = async (filters: string[], seq: number) => {
    for (const f of filters) {
      const m = await jsm.direct.getMessage(o.stream, { seq, next_by_subj: f });
      if (m && m.seq <= o.toSeq) return true;
    }
    return false;
  };
  // An ordered consumer with nothing to deliver would wait forever: look first. Without a
  // filter the stream (which denies delete) has every seq up to its last one.
  if (o.filterSubjects !== undefined && !(await moreMatching(o.filterSubjects, from))) return;
  // The whole stream needs no filter when it holds nothing else (eventFilterOf: a filtered consumer
  // is slow to create on a long stream on nats-server 2.9).
  const wanted =
    o.filterSubjects ?? [await eventFilterOf(jsm, o.stream, o.subjectPrefix)].filter((f) => f !== undefined);
  const js = jetstream(nc);
  const consumer = await js.consumers.get(o.stream, {
    // One filter as a string: servers before 2.10 know only `filter_subject`.
    ...(wanted.length === 0 ? {} : { filter_subjects: wanted.length === 1 ? wanted[0]! : wanted }),
    ...(from <= 1
      ? { deliver_policy: DeliverPolicy.All }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from }),
  });
  const messages = await consumer.consume({ max_messages: Math.max(256, o.batchSize * 2) });
  let batch: StreamMessage[] = [];
  try {
    for await (const m of messages) {
      if (m.seq > o.toSeq) break;
      batch.push(toStreamMessage(m));
      // Without a filter every seq up to toSeq comes; with one, ask the stream whether more match.
      let last = m.seq >= o.toSeq;
      if (!last && o.filterSubjects !== undefined && m.info.pending === 0)
        last = !(await moreMatching(o.filterSubjects, m.seq + 1));
      if (batch.length >= o.batchSize || last) {
        yield batch;
        batch = [];
      }
      if (last) break;
    }
    if (batch.length > 0) yield batch;
  } finally {
    await messages.close().catch(() => undefined);
    await consumer.delete().catch(() => undefined);
  }
}
