import { sql, type Kysely } from 'kysely';
import type { Database } from '@claimtrail/shared/db';

/** The name of the projector's row in `checkpoint`. */
export const CHECKPOINT = 'projector';
/** The name of the projector's row in `projector_lease`. */
export const LEASE = 'projector';

export interface Checkpoint {
  lastSeq: number;
  chainHash: string;
  knownAt: string | null;
}

/** The checkpoint moved under a write (not the one its batch was folded on); the batch is refolded. */
export class StaleCheckpointError extends Error {}

/**
 * Another projector took the lead of the schema (the lease's epoch is not this store's): nothing
 * this store writes can commit any more, and retrying is pointless.
 */
export class FencedError extends Error {
  constructor(schema: string, mine: number, current: number | null) {
    super(`projector lease of ${schema} is at epoch ${current ?? 'none'}, not ${mine}: another projector leads`);
    this.name = 'FencedError';
  }
}

/**
 * The lease a store writes under and the checkpoint its writes move: every commit moves the
 * checkpoint from where its batch was folded, under the fence of the lease's epoch.
 */
export function createCheckpointLease(db: Kysely<Database>, schema: string) {
  const t = (name: string) => sql.table(`${schema}.${name}`);
  /** The lease epoch this store writes under; undefined: unfenced (a replay into a schema of its own). */
  let epoch: number | undefined;
  /**
   * True while this store's epoch is the lease's. The share lock makes a projector taking the lead
   * (which updates the row) wait for a commit already checking it, and a commit after that update
   * find the new epoch: a commit either precedes the new leader's first read or fails.
   */
  const fence = () =>
    sql`(${epoch ?? null}::bigint is null or exists (select from ${t('projector_lease')} l
      where l.name = ${LEASE} and l.epoch = ${epoch ?? null}::bigint for share of l))`;

  return {
    /** The epoch this store writes under (undefined until takeLead). */
    get epoch() {
      return epoch;
    },
    /**
     * Takes the lead of the schema: moves the lease to a new epoch, which fences every projector
     * (this process's earlier runs included) that wrote under an older one. From here on every
     * commit checks the epoch, and every read of a batch's input fails with FencedError once
     * another projector took the lead. The caller holds the election lock.
     */
    async takeLead(holder: string): Promise<number> {
      const r = await sql<{ epoch: number }>`
        insert into ${t('projector_lease')} as l (name, epoch, holder) values (${LEASE}, 1, ${holder})
        on conflict (name) do update set epoch = l.epoch + 1, holder = excluded.holder, taken_at = now()
        returning epoch`.execute(db);
      epoch = Number(r.rows[0]!.epoch);
      return epoch;
    },
    /** Fails with FencedError when the lease read with a batch's input (`stored`) is not this store's. */
    assertLeads(stored: number | string | null): void {
      const current = stored === null ? null : Number(stored);
      if (epoch !== undefined && current !== epoch) throw new FencedError(schema, epoch, current);
    },
    /** Moves the checkpoint from `prev` to `next`, under the fence; returns 1 row when it moved. */
    moveCheckpoint: (next: Checkpoint, prev: Checkpoint) => sql`
        insert into ${t('checkpoint')} as c (name, last_seq, chain_hash, known_at)
        select ${CHECKPOINT}, ${next.lastSeq}::bigint, ${next.chainHash}::text, ${next.knownAt}::timestamptz where ${fence()}
        on conflict (name) do update set last_seq = excluded.last_seq, chain_hash = excluded.chain_hash,
          known_at = excluded.known_at, updated_at = now()
          where c.last_seq = ${prev.lastSeq}::bigint and c.chain_hash = ${prev.chainHash}::text
        returning 1 as moved`,
    /**
     * The checkpoint is not where a batch was folded from (a write whose outcome was lost, or
     * another writer), or the lease is another projector's, when a write did not move it: the
     * caller rolls back and refolds from what is stored, and the state read tells a lost lease apart.
     */
    assertMoved(moved: number | undefined, prev: Checkpoint): void {
      if (moved !== 1) throw new StaleCheckpointError(`checkpoint of ${schema} is not at seq ${prev.lastSeq}`);
    },
  };
}
export type CheckpointLease = ReturnType<typeof createCheckpointLease>;
