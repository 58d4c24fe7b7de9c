import type { KV, KvEntry } from '@nats-io/kv';
import { claimIdOf, type ClaimIdentityFields } from '../identity.ts';

/**
 * Where claims stand whose id is not the one their identity gives (`claimIdOf(identity)`, the
 * natural id): claims a correction moved to another identity, and claims recorded before the
 * valid period was part of the identity. Two kinds of key, both in the bucket `<stream>_identities`:
 *
 * - `held.<naturalId>` → the claim that has that identity now. A new claim with the identity is an
 *   echo of it.
 * - `moved.<claimId>` → the natural id of the claim's identity now, present while that is not the
 *   claim's own id. A new claim whose natural id is a moved claim's id is not that claim's echo:
 *   it takes the next free id (`claimIdOf(identity, 1)`, 2, …).
 *
 * Every claim never corrected and recorded under today's identity has no key: the index stays as
 * small as the number of such claims. Each ingest process mirrors it in memory (a KV watch), so
 * finding a claim's id asks NATS nothing; `claimtrail migrate` builds it from the stream when it
 * creates the bucket, and again with `--identities`.
 */
export interface IdentityIndex {
  /** The id a new claim with this identity is recorded under, or the id of the claim it echoes. */
  claimIdFor(c: ClaimIdentityFields): string;
  /** Every id `claimIdFor` may have answered for this identity (a retry looks for its record under each). */
  candidatesFor(c: ClaimIdentityFields): string[];
  /**
   * Records that `claimId` has the identity whose natural id is `currentNatural`, and no longer
   * those of `pastNaturals` (the identities it had before: as recorded and after each correction).
   */
  settle(claimId: string, currentNatural: string, pastNaturals: readonly string[]): Promise<void>;
  /**
   * Makes the bucket hold exactly these entries (as `claimtrail migrate` works them out from the
   * stream): puts what differs, deletes what is not in them. Answers how many keys it wrote.
   */
  reconcile(desired: IdentityEntries): Promise<{ put: number; deleted: number }>;
  /** The mirror's entries (for tests and `migrate`). */
  entries(): IdentityEntries;
  close(): Promise<void>;
}

export interface IdentityEntries {
  /** natural id → the claim that has that identity now */
  held: ReadonlyMap<string, string>;
  /** claim id → the natural id of its identity now, for claims whose id it is not */
  moved: ReadonlyMap<string, string>;
}

const HELD = 'held.';
const MOVED = 'moved.';

/** Which of the index's maps a bucket key belongs to, and the id it names. */
function parseKey(key: string): { map: 'held' | 'moved'; id: string } | undefined {
  if (key.startsWith(HELD)) return { map: 'held', id: key.slice(HELD.length) };
  if (key.startsWith(MOVED)) return { map: 'moved', id: key.slice(MOVED.length) };
  return undefined;
}

/**
 * The index over an open bucket, mirrored in memory. Resolves once the mirror holds everything the
 * bucket held when it was opened (at most `readyTimeoutMs`, default 10 s); changes by other
 * processes reach the mirror as the watch delivers them, within milliseconds.
 */
export async function openIdentityIndex(kv: KV, o: { readyTimeoutMs?: number } = {}): Promise<IdentityIndex> {
  const held = new Map<string, string>();
  const moved = new Map<string, string>();
  const apply = (e: Pick<KvEntry, 'key' | 'operation' | 'string'>) => {
    const k = parseKey(e.key);
    if (!k) return;
    const map = k.map === 'held' ? held : moved;
    if (e.operation === 'PUT') map.set(k.id, e.string());
    else map.delete(k.id);
  };
  const lastSeq = (await kv.status()).streamInfo.state.last_seq;
  let seen = 0;
  let caughtUp: () => void = () => undefined;
  const initial = new Promise<void>((resolve) => {
    caughtUp = resolve;
  });
  if (lastSeq === 0) caughtUp();
  const watch = await kv.watch({ key: '>' });
  void (async () => {
    for await (const e of watch) {
      apply(e);
      seen = Math.max(seen, e.revision);
      if (seen >= lastSeq) caughtUp();
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      initial,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the identity index did not load within ${o.readyTimeoutMs ?? 10_000} ms`)),
          o.readyTimeoutMs ?? 10_000,
        );
      }),
    ]);
  } catch (err) {
    watch.stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }

  const put = async (key: string, value: string) => {
    await kv.put(key, value);
    apply({ key, operation: 'PUT', string: () => value });
  };
  const remove = async (key: string) => {
    await kv.delete(key);
    apply({ key, operation: 'DEL', string: () => '' });
  };

  /** The first id from the natural one on that no moved claim has (the natural id is hashed once). */
  const walk = (c: ClaimIdentityFields, natural: string, visit?: (id: string) => void): string => {
    for (let k = 0; ; k += 1) {
      const id = k === 0 ? natural : claimIdOf(c, k);
      visit?.(id);
      if (!moved.has(id)) return id;
    }
  };
  return {
    claimIdFor(c) {
      const natural = claimIdOf(c);
      return held.get(natural) ?? walk(c, natural);
    },
    candidatesFor(c) {
      const natural = claimIdOf(c);
      const out: string[] = [];
      walk(c, natural, (id) => out.push(id));
      const h = held.get(natural);
      if (h !== undefined && !out.includes(h)) out.push(h);
      return out;
    },
    async settle(claimId, currentNatural, pastNaturals) {
      for (const n of new Set(pastNaturals)) {
        if (n !== currentNatural && held.get(n) === claimId) await remove(`${HELD}${n}`);
      }
      if (held.get(currentNatural) !== claimId) await put(`${HELD}${currentNatural}`, claimId);
      if (claimId === currentNatural) {
        if (moved.has(claimId)) await remove(`${MOVED}${claimId}`);
      } else if (moved.get(claimId) !== currentNatural) {
        await put(`${MOVED}${claimId}`, currentNatural);
      }
    },
    async reconcile(desired) {
      let putCount = 0;
      let deleted = 0;
      for (const [prefix, now, want] of [
        [HELD, held, desired.held],
        [MOVED, moved, desired.moved],
      ] as const) {
        for (const [id, value] of want) {
          if (now.get(id) === value) continue;
          await put(`${prefix}${id}`, value);
          putCount += 1;
        }
        for (const id of [...now.keys()]) {
          if (want.has(id)) continue;
          await remove(`${prefix}${id}`);
          deleted += 1;
        }
      }
      return { put: putCount, deleted };
    },
    entries: () => ({ held, moved }),
    close() {
      watch.stop();
      return Promise.resolve();
    },
  };
}
