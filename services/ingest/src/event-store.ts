import { headers, type NatsConnection } from '@nats-io/transport-node';
import {
  JetStreamApiCodes,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
} from '@nats-io/jetstream';
import { isApiError } from '@claimtrail/shared/nats';
import {
  canonicalJson,
  createSubjects,
  decodeEvent,
  type ClaimtrailEvent,
  type Subjects,
} from '@claimtrail/shared/events';
import { UnavailableError } from '@claimtrail/shared/errors';

export interface PublishRequest {
  subject: string;
  event: ClaimtrailEvent;
  msgId: string;
  /** Optimistic concurrency: the subject's last seq must be this (0: the subject is empty). */
  expectLastSubjectSeq?: number;
}

export type PublishOutcome = { ok: true; seq: number; duplicate: boolean } | { ok: false; wrongLastSeq: true };

/** The ingest side of the stream: publishes events and reads one claim's events back. */
export interface EventStore {
  subjects: Subjects;
  publish(r: PublishRequest): Promise<PublishOutcome>;
  claimEvents(claimId: string): Promise<{ seq: number; subject: string; event: ClaimtrailEvent | undefined }[]>;
  ready(): Promise<string[]>;
}

export async function createEventStore(
  nc: NatsConnection,
  o: { stream: string; subjectPrefix: string; publishTimeoutMs: number },
): Promise<EventStore> {
  const js: JetStreamClient = jetstream(nc, { timeout: o.publishTimeoutMs });
  const jsm: JetStreamManager = await jetstreamManager(nc);
  const subjects = createSubjects(o.subjectPrefix);
  return {
    subjects,
    async publish(r) {
      let ack: PubAck;
      try {
        ack = await js.publish(r.subject, canonicalJson(r.event), {
          msgID: r.msgId,
          timeout: o.publishTimeoutMs,
          headers: (() => {
            const h = headers();
            h.set('Claimtrail-Type', r.event.type);
            return h;
          })(),
          ...(r.expectLastSubjectSeq === undefined ? {} : { expect: { lastSubjectSequence: r.expectLastSubjectSeq } }),
        });
      } catch (err) {
        if (isApiError(err, JetStreamApiCodes.StreamWrongLastSequence)) return { ok: false, wrongLastSeq: true };
        throw new UnavailableError(
          'the event stream did not acknowledge in time; retry with the same Idempotency-Key',
          2,
          err,
        );
      }
      return { ok: true, seq: ack.seq, duplicate: ack.duplicate };
    },
    async claimEvents(claimId) {
      const out: { seq: number; subject: string; event: ClaimtrailEvent | undefined }[] = [];
      const filter = subjects.claimAnyTopic(claimId);
      let seq = 1;
      try {
        for (;;) {
          const m = await jsm.direct.getMessage(o.stream, { next_by_subj: filter, seq });
          if (!m) break;
          const decoded = decodeEvent(m.json<unknown>());
          out.push({ seq: m.seq, subject: m.subject, event: decoded.ok ? decoded.event : undefined });
          seq = m.seq + 1;
        }
      } catch (err) {
        throw new UnavailableError('the event stream could not be read; retry', 2, err);
      }
      return out;
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
  };
}
