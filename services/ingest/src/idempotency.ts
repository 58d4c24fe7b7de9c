import type { KV } from '@nats-io/kv';
import { sha256Hex } from '@claimtrail/shared/identity';
import { ConflictError, UnavailableError } from '@claimtrail/shared/errors';

export interface IdempotencyRecord<R> {
  bodyHash: string;
  state: 'pending' | 'done';
  recordedAt: string;
  requestId: string;
  actor: string;
  response?: R;
}

export type Claimed<R> = { kind: 'done'; response: R } | { kind: 'proceed'; record: IdempotencyRecord<R> };

/**
 * Idempotency keys live in a KV bucket forever. `create` is atomic, so of two racing requests
 * with one key only one writes the record; both then publish the same msgIDs and JetStream keeps
 * one copy. A pending record is a first attempt that did not finish: the retry redoes it with
 * the same recordedAt and event ids.
 */
export function createIdempotency<R>(kv: KV, scope: string) {
  const keyOf = (k: string) => `${scope}.${sha256Hex(k)}`;
  return {
    async claim(key: string, fresh: Omit<IdempotencyRecord<R>, 'state'>): Promise<Claimed<R>> {
      const k = keyOf(key);
      try {
        for (let attempt = 0; attempt < 3; attempt += 1) {
          // A new key is the common case: try to create first, and read only when it exists.
          const record: IdempotencyRecord<R> = { ...fresh, state: 'pending' };
          try {
            await kv.create(k, JSON.stringify(record));
            return { kind: 'proceed', record };
          } catch {
            // The key exists (or another request of the same key won the race): read it.
          }
          const e = await kv.get(k);
          if (e && e.operation === 'PUT') {
            const rec = e.json<IdempotencyRecord<R>>();
            if (rec.bodyHash !== fresh.bodyHash) {
              throw new ConflictError('this Idempotency-Key was used before with a different body');
            }
            if (rec.state === 'done' && rec.response !== undefined) return { kind: 'done', response: rec.response };
            return { kind: 'proceed', record: rec };
          }
        }
      } catch (err) {
        if (err instanceof ConflictError) throw err;
        throw new UnavailableError('the idempotency store is unavailable; retry', 2, err);
      }
      throw new UnavailableError('the idempotency store is contended; retry', 1);
    },
    async complete(key: string, record: IdempotencyRecord<R>, response: R): Promise<void> {
      await kv.put(keyOf(key), JSON.stringify({ ...record, state: 'done', response }));
    },
  };
}
