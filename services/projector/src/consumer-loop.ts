import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  JetStreamApiCodes,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { eventFilterOf, isApiError } from '@claimtrail/shared/nats';
import { toStreamMessage, type StreamMessage } from './stream-message.ts';

/** The longest a partial batch waits for more messages before it is committed. */
const MAX_LINGER_MS = 20;

export function consumerNameOf(schema: string): string {
  return `projector_${schema}`;
}

export interface ConsumerSettings {
  stream: string;
  subjectPrefix: string;
  batchSize: number;
}

/**
 * The durable pull consumer of a schema, made anew to start at `startSeq`, and its messages.
 * `contiguous`: the stream holds only the events (no subject filter), so every seq is an event.
 */
export async function openConsumer(
  nc: NatsConnection,
  settings: ConsumerSettings,
  schema: string,
  startSeq: number,
): Promise<{ messages: ConsumerMessages; contiguous: boolean }> {
  const durable = consumerNameOf(schema);
  const jsm = await jetstreamManager(nc);
  // Up to five batches are in flight at once (read, folded, two being written: batch-pipeline.ts),
  // each acked only after its commit; ten batches of room keep delivery from stalling.
  const maxAckPending = Math.max(5000, settings.batchSize * 10);
  // The checkpoint in Postgres is the truth; the consumer is rebuilt to start right after it,
  // and when it was made with other limits (by an older version, or another batch size).
  const filter = await eventFilterOf(jsm, settings.stream, settings.subjectPrefix);
  // Made anew at every start: a projector that lost the lead may still have pulls waiting on
  // the old consumer, and would take messages from under the new leader. Deleting it ends them.
  try {
    await jsm.consumers.delete(settings.stream, durable);
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  await jsm.consumers.add(settings.stream, {
    durable_name: durable,
    ack_policy: AckPolicy.All,
    ...(filter === undefined ? {} : { filter_subject: filter }),
    ...(startSeq <= 1
      ? { deliver_policy: DeliverPolicy.All }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }),
    max_ack_pending: maxAckPending,
    ack_wait: 60_000_000_000,
    max_deliver: -1,
  });
  const consumer = await jetstream(nc).consumers.get(settings.stream, durable);
  // abort_on_missing_resource: if the consumer (or the stream) is deleted under it, the
  // iterator fails and the projector rebuilds the consumer from the checkpoint; nats.js would
  // otherwise wait for someone else to recreate it, and the projector would stop folding without
  // a word. Two batches of messages pulled ahead keep the fold fed (delivery ran at 100,000
  // messages/s here, the catch-up at 7,000-12,000); four made more of the heap live at every
  // young collection, which then copied it.
  const messages = await consumer.consume({ max_messages: settings.batchSize * 2, abort_on_missing_resource: true });
  return { messages, contiguous: filter === undefined };
}

export interface BatchingOptions {
  batchSize: number;
  /** Hands a batch on, with its last message (to ack once the batch is committed). */
  submit: (batch: StreamMessage[], last: JsMsg) => Promise<void>;
  /** Sees every message as it is delivered. */
  delivered?: (m: JsMsg) => void;
}

/**
 * Takes messages in batches until the iterator ends, and returns what it took since the last
 * batch it handed on (the caller decides whether that is submitted).
 *
 * When to commit: a full batch; or nothing more buffered here and the server says nothing is
 * pending; or nothing more buffered here and the batch has been open for MAX_LINGER_MS.
 * `pending` is not always 0 on the last message a server delivers (seen with filtered consumers
 * on nats-server 2.9), so the linger bound, also enforced by a timer when no message comes, keeps
 * a partial batch from waiting under a steady trickle. Group commit: messages that arrived while
 * the last batch was being written wait in the iterator's buffer (getPending) and all join the
 * next batch, instead of a transaction for each few of them.
 */
export async function consumeInBatches(
  messages: ConsumerMessages,
  o: BatchingOptions,
): Promise<{ batch: StreamMessage[]; last: JsMsg | undefined }> {
  let batch: StreamMessage[] = [];
  let last: JsMsg | undefined;
  const it = messages[Symbol.asyncIterator]();
  let next: Promise<IteratorResult<JsMsg>> | undefined;
  let linger: Promise<'linger'> | undefined;
  let openedAt = 0;
  // A batch is submitted at once (Postgres starts reading what it needs), and the loop goes on
  // once the batch before it is folded: while this thread folds one batch, the next one is
  // being read and the ones before are being written.
  const flush = async () => {
    const b = batch;
    const l = last;
    batch = [];
    last = undefined;
    linger = undefined;
    if (l) await o.submit(b, l);
  };
  for (;;) {
    next ??= it.next();
    if (batch.length > 0)
      linger ??= sleep(Math.max(0, MAX_LINGER_MS - (performance.now() - openedAt))).then(() => 'linger' as const);
    const r = linger ? await Promise.race([next, linger]) : await next;
    if (r === 'linger') {
      await flush();
      continue;
    }
    next = undefined;
    if (r.done) break;
    const m = r.value;
    if (batch.length === 0) openedAt = performance.now();
    batch.push(toStreamMessage(m));
    last = m;
    o.delivered?.(m);
    const drained = messages.getPending() === 0;
    if (
      batch.length >= o.batchSize ||
      (drained && (m.info.pending === 0 || performance.now() - openedAt >= MAX_LINGER_MS))
    ) {
      await flush();
    }
  }
  return { batch, last };
}
