import { createInbox, headers, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiCodes, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import {
  canonicalJson,
  createSubjects,
  decodeEvent,
  type ClaimtrailEvent,
  type EventType,
  type Subjects,
} from '@claimtrail/shared/events';
import { UnavailableError } from '@claimtrail/shared/errors';
import type { Logger } from '@claimtrail/shared';

export interface PublishRequest {
  subject: string;
  event: ClaimtrailEvent;
  msgId: string;
  /** Optimistic concurrency: the subject's last seq must be this (0: the subject is empty). */
  expectLastSubjectSeq?: number;
}

export type PublishOutcome = { ok: true; seq: number; duplicate: boolean } | { ok: false; wrongLastSeq: true };

/** A message of the stream as ingest reads it; `event` is undefined when it is not a readable event. */
export interface StoredEvent {
  seq: number;
  subject: string;
  event: ClaimtrailEvent | undefined;
}

/** The ingest side of the stream: publishes events and reads one claim's events back. */
export interface EventStore {
  subjects: Subjects;
  publish(r: PublishRequest): Promise<PublishOutcome>;
  /** Every message on the claim's subjects, in order, readable or not (a write expects the last seq). */
  claimEvents(claimId: string): Promise<StoredEvent[]>;
  /** The first event with this id on `subject`, from `fromSeq` on. */
  findEvent(subject: string, eventId: string, fromSeq?: number): Promise<StoredEvent | undefined>;
  /**
   * The last event of `type` on `subject` (a definition in force), and the subject's last seq,
   * which a write that replaces it expects (0: the subject is empty).
   */
  lastOfType<T extends EventType>(subject: string, type: T): Promise<LastOfType<T>>;
  /** The names of the subjects under `filter` that hold messages (stream info with a subjects filter). */
  subjectNames(filter: string): Promise<string[]>;
  ready(): Promise<string[]>;
  /** Stops the publisher (its reply subscription and timer); pending publishes fail. */
  close(): void;
}

export interface LastOfType<T extends EventType> {
  lastSeq: number;
  found: { seq: number; event: Extract<ClaimtrailEvent, { type: T }> } | undefined;
}

/** What JetStream answers a publish: a PubAck, or an API error. */
export interface PubAckReply {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: { code: number; err_code?: number; description?: string };
}

class PublishFailure extends Error {}

/** JetStream publishes with acknowledgements, for the events and the idempotency records. */
export interface JetStreamPublisher {
  /**
   * Publishes `data` and gives JetStream's answer: a PubAck or an API error (`{ error: { code:
   * 503 } }` when no stream takes the subject). Rejects with a PublishFailure when no answer
   * comes within the timeout or the connection fails.
   */
  publish(subject: string, data: string, hdrs?: MsgHdrs): Promise<PubAckReply>;
  /** Stops the reply subscription and the timer; pending publishes fail. */
  close(): void;
}

/**
 * JetStream publishes as plain NATS publishes with a reply subject on one wildcard subscription of
 * this process, matched to their promise by a counter. nats.js's `js.publish` makes a request
 * object, a timer and a deferred for each, and after every answer rejects the finished request's
 * deferred with a new `RequestError("cancelled")`, whose stack trace alone took 7.5 % of ingest's
 * CPU in a profile of the ingest bench. Here a publish is one map entry; one timer, four times
 * within the timeout, fails those past their deadline (they were inserted in deadline order).
 */
export function createJetStreamPublisher(nc: NatsConnection, timeoutMs: number): JetStreamPublisher {
  const prefix = createInbox();
  const waiting = new Map<string, { resolve: (m: Msg) => void; reject: (e: Error) => void; deadline: number }>();
  let counter = 0;
  let closed = false;
  const sub = nc.subscribe(`${prefix}.*`, {
    callback: (err, msg) => {
      if (err) {
        for (const w of waiting.values()) w.reject(err);
        waiting.clear();
        return;
      }
      const token = msg.subject.slice(prefix.length + 1);
      const w = waiting.get(token);
      if (!w) return;
      waiting.delete(token);
      w.resolve(msg);
    },
  });
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [token, w] of waiting) {
        if (w.deadline > now) break;
        waiting.delete(token);
        w.reject(new PublishFailure(`no acknowledgement within ${timeoutMs} ms`));
      }
    },
    Math.max(10, Math.floor(timeoutMs / 4)),
  );
  sweep.unref();
  return {
    async publish(subject, data, hdrs) {
      if (closed) throw new PublishFailure('the publisher was closed');
      const token = (counter++).toString(36);
      const m = await new Promise<Msg>((resolve, reject) => {
        waiting.set(token, { resolve, reject, deadline: Date.now() + timeoutMs });
        try {
          // Encoded here: nats.js encodes a string with a TextEncoder, which allocates a new
          // buffer each time (2.1 µs for a 510-byte event, against 0.2-0.4 for Buffer.from,
          // which slices small ones from a pool).
          nc.publish(subject, Buffer.from(data, 'utf8'), {
            reply: `${prefix}.${token}`,
            ...(hdrs ? { headers: hdrs } : {}),
          });
        } catch (err) {
          waiting.delete(token);
          reject(err instanceof Error ? err : new PublishFailure(String(err)));
        }
      });
      return m.headers?.code === 503 ? { error: { code: 503 } } : m.json<PubAckReply>();
    },
    close(): void {
      closed = true;
      clearInterval(sweep);
      sub.unsubscribe();
      for (const w of waiting.values()) w.reject(new PublishFailure('the publisher was closed'));
      waiting.clear();
    },
  };
}

export async function createEventStore(
  nc: NatsConnection,
  o: { stream: string; subjectPrefix: string; publishTimeoutMs: number },
  /** Shared with the idempotency records; closed with the store. */
  publisher: JetStreamPublisher,
  /** Where a message that is not a readable event is reported (once a seq). */
  log: Pick<Logger, 'warn'>,
): Promise<EventStore> {
  const jsm: JetStreamManager = await jetstreamManager(nc);
  const subjects = createSubjects(o.subjectPrefix);
  const reported = new Set<number>();

  /**
   * A stored message as an event, or undefined when it is none (not JSON, no known type, a newer
   * version): anyone can publish on the stream's subjects, and one such message must not make a
   * claim unchangeable. Logged the first time this process reads its seq.
   */
  const decodeStored = (m: { seq: number; subject: string; string(): string }): StoredEvent => {
    let reason: string;
    try {
      const decoded = decodeEvent(JSON.parse(m.string()));
      if (decoded.ok) return { seq: m.seq, subject: m.subject, event: decoded.event };
      reason = decoded.reason;
    } catch (err) {
      reason = `not JSON: ${(err as Error).message}`;
    }
    if (!reported.has(m.seq)) {
      if (reported.size >= 10_000) reported.clear();
      reported.add(m.seq);
      log.warn(
        { stream: o.stream, seq: m.seq, subject: m.subject, reason },
        `skipped message ${m.seq} on ${m.subject}: it is not a readable event (${reason})`,
      );
    }
    return { seq: m.seq, subject: m.subject, event: undefined };
  };

  /** The messages on `filter` from `fromSeq` on, one direct get each, until `stop` says so. */
  const scan = async (filter: string, fromSeq: number, stop: (e: StoredEvent) => boolean): Promise<StoredEvent[]> => {
    const out: StoredEvent[] = [];
    let seq = fromSeq;
    for (;;) {
      let m;
      try {
        m = await jsm.direct.getMessage(o.stream, { next_by_subj: filter, seq });
      } catch (err) {
        throw new UnavailableError('the event stream could not be read; retry', 2, err);
      }
      if (!m) return out;
      const e = decodeStored(m);
      out.push(e);
      if (stop(e)) return out;
      seq = m.seq + 1;
    }
  };
  return {
    subjects,
    async publish(r) {
      const h = headers();
      h.set('Nats-Msg-Id', r.msgId);
      if (r.expectLastSubjectSeq !== undefined)
        h.set('Nats-Expected-Last-Subject-Sequence', String(r.expectLastSubjectSeq));
      h.set('Claimtrail-Type', r.event.type);
      let ack: PubAckReply;
      try {
        ack = await publisher.publish(r.subject, canonicalJson(r.event), h);
      } catch (err) {
        throw new UnavailableError(
          'the event stream did not acknowledge in time; retry with the same Idempotency-Key',
          2,
          err,
        );
      }
      if (ack.error) {
        // 503 from the server itself: nothing listens on the subject (no responders).
        if (ack.error.code === 503 && ack.error.description === undefined)
          throw new UnavailableError(
            `no stream takes ${r.subject} (is stream ${o.stream} there?); retry with the same Idempotency-Key`,
            2,
          );
        if (ack.error.err_code === JetStreamApiCodes.StreamWrongLastSequence) return { ok: false, wrongLastSeq: true };
        throw new UnavailableError(
          `the event stream refused the event (${ack.error.description ?? ack.error.code}); retry with the same Idempotency-Key`,
          2,
        );
      }
      if (typeof ack.seq !== 'number')
        throw new UnavailableError('the event stream gave an invalid acknowledgement; retry', 2);
      return { ok: true, seq: ack.seq, duplicate: ack.duplicate === true };
    },
    claimEvents: (claimId) => scan(subjects.claimAnyTopic(claimId), 1, () => false),
    async findEvent(subject, eventId, fromSeq = 1) {
      const read = await scan(subject, fromSeq, (e) => e.event?.eventId === eventId);
      const last = read.at(-1);
      return last?.event?.eventId === eventId ? last : undefined;
    },
    async lastOfType<T extends EventType>(subject: string, type: T): Promise<LastOfType<T>> {
      const isOfType = (
        e: StoredEvent,
      ): e is { seq: number; subject: string; event: Extract<ClaimtrailEvent, { type: T }> } => e.event?.type === type;
      let m;
      try {
        m = await jsm.direct.getMessage(o.stream, { last_by_subj: subject });
      } catch (err) {
        throw new UnavailableError('the event stream could not be read; retry', 2, err);
      }
      if (!m) return { lastSeq: 0, found: undefined };
      const last = decodeStored(m);
      if (isOfType(last)) return { lastSeq: m.seq, found: { seq: m.seq, event: last.event } };
      // Anyone can publish on the stream's subjects: the last message may be something else, and
      // the event in force an earlier one (a rare case, worth a walk of the subject).
      const all = await scan(subject, 1, () => false);
      const found = all.findLast(isOfType);
      return {
        lastSeq: Math.max(m.seq, all.at(-1)?.seq ?? 0),
        found: found ? { seq: found.seq, event: found.event } : undefined,
      };
    },
    async subjectNames(filter) {
      try {
        const info = await jsm.streams.info(o.stream, { subjects_filter: filter });
        return Object.keys(info.state.subjects ?? {});
      } catch (err) {
        throw new UnavailableError('the event stream could not be read; retry', 2, err);
      }
    },
    async ready() {
      if (nc.isClosed()) return ['NATS connection closed'];
      try {
        await jsm.streams.info(o.stream);
        return [];
      } catch (err) {
        return [`stream ${o.stream}: ${(err as Error).message}`];
      }
    },
    close: () => publisher.close(),
  };
}
