import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { headers } from '@nats-io/transport-node';
import { sha256Hex } from '@claimtrail/shared/identity';
import { kvWriteSubject } from '@claimtrail/shared/nats';
import { ConflictError, UnavailableError } from '@claimtrail/shared/errors';
import type { JetStreamPublisher } from './event-store.ts';

export interface IdempotencyRecord<R> {
  bodyHash: string;
  state: 'pending' | 'done';
  recordedAt: string;
  requestId: string;
  actor: string;
  response?: R;
}

export type Claimed<R> =
  | { kind: 'done'; response: R }
  | {
      kind: 'proceed';
      record: IdempotencyRecord<R>;
      /**
       * The record was there already: an earlier attempt with this key (or one racing this one)
       * may have stored some or all of its events, possibly longer ago than JetStream's duplicate
       * window, so publishing them again is not enough to find them (report-submission.ts).
       */
      resumed: boolean;
      /** Stores the answer: the key then answers it to every later request. */
      complete(response: R): Promise<void>;
    };

/**
 * Writes `value` under `key`; with `expectRevision`, only when that is the key's last revision
 * (0: the key was never written), and then false when it is not.
 */
export type RecordWrite = (key: string, value: string, expectRevision?: number) => Promise<boolean>;

const WRONG_LAST_SEQ: readonly number[] = [
  JetStreamApiCodes.StreamWrongLastSequence,
  JetStreamApiCodes.StreamWrongLastSequenceUnknown,
];

/**
 * How records are written to the bucket. Through ingest's own publisher where the bucket tells
 * the subject a key is written on (kvWriteSubject, which also knows mirrors and
 * domains): nats.js's `kv.create` and `kv.put` go through `js.publish`, whose per-request objects
 * and `RequestError` took ~6 % of ingest's CPU for the two writes of each report (a profile of the
 * ingest bench). Without it, through the bucket's own `create`/`put` semantics (`put` with
 * `previousSeq`), as before.
 */
export function kvRecordWriter(
  kv: KV,
  publisher?: JetStreamPublisher,
): { write: RecordWrite; via: 'publisher' | 'kv' } {
  const subjectOf = kvWriteSubject(kv);
  if (publisher && subjectOf) {
    return {
      via: 'publisher',
      async write(key, value, expectRevision) {
        let h;
        if (expectRevision !== undefined) {
          h = headers();
          h.set('Nats-Expected-Last-Subject-Sequence', String(expectRevision));
        }
        const ack = await publisher.publish(subjectOf(key), value, h);
        if (!ack.error) return true;
        if (ack.error.err_code !== undefined && WRONG_LAST_SEQ.includes(ack.error.err_code)) return false;
        throw new Error(`the idempotency bucket refused a write: ${ack.error.description ?? ack.error.code}`);
      },
    };
  }
  return {
    via: 'kv',
    async write(key, value, expectRevision) {
      try {
        await kv.put(key, value, expectRevision === undefined ? {} : { previousSeq: expectRevision });
        return true;
      } catch (err) {
        if (err instanceof JetStreamApiError && WRONG_LAST_SEQ.includes(err.code)) return false;
        throw err;
      }
    },
  };
}

/**
 * Idempotency keys live in a KV bucket forever. The first write is conditional on the key never
 * having been written, so of two racing requests with one key only one writes the record; both
 * then publish the same msgIDs and JetStream keeps one copy. A pending record is a first attempt
 * that did not finish: the retry redoes it with the same recordedAt and event ids. A key whose
 * record was deleted (by hand: nothing here deletes) is written again over the delete marker.
 */
export function createIdempotency<R>(kv: KV, scope: string, write: RecordWrite) {
  return {
    async claim(key: string, fresh: Omit<IdempotencyRecord<R>, 'state'>): Promise<Claimed<R>> {
      const k = `${scope}.${sha256Hex(key)}`;
      const proceed = (record: IdempotencyRecord<R>, resumed: boolean): Claimed<R> => ({
        kind: 'proceed',
        record,
        resumed,
        complete: async (response) => {
          await write(k, JSON.stringify({ ...record, state: 'done', response }));
        },
      });
      try {
        let expectRevision = 0;
        for (let attempt = 0; attempt < 3; attempt += 1) {
          // A new key is the common case: try to create first, and read only when it exists.
          const record: IdempotencyRecord<R> = { ...fresh, state: 'pending' };
          if (await write(k, JSON.stringify(record), expectRevision)) return proceed(record, false);
          // The key exists (or another request of the same key won the race): read it.
          const e = await kv.get(k);
          if (e && e.operation === 'PUT') {
            const rec = e.json<IdempotencyRecord<R>>();
            if (rec.bodyHash !== fresh.bodyHash) {
              throw new ConflictError('this Idempotency-Key was used before with a different body');
            }
            if (rec.state === 'done' && rec.response !== undefined) return { kind: 'done', response: rec.response };
            return proceed(rec, true);
          }
          // Deleted or purged: write over the marker.
          expectRevision = e ? e.revision : 0;
        }
      } catch (err) {
        if (err instanceof ConflictError) throw err;
        throw new UnavailableError('the idempotency store is unavailable; retry', 2, err);
      }
      throw new UnavailableError('the idempotency store is contended; retry', 1);
    },
  };
}
