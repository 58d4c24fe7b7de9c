import { sql, type Kysely } from 'kysely';
import { poolOf, type Database } from '@claimtrail/shared/db';
import { createCheckpointLease, type Checkpoint } from './checkpoint-lease.ts';
import { loadInput, readCheckpoint } from './state-read.ts';
import { createCopyWrite } from './copy-write.ts';
import { createOneStatementWrite, fitsOneStatement, ONE_STATEMENT_EVENTS } from './one-statement-write.ts';
import { clientExec, inTransaction, kyselyExec } from './statement-runner.ts';
import type { BatchIds } from './batch-ids.ts';
import type { FoldInput, FoldOutput, FoldState } from './fold-rows.ts';
import type { StreamMessage } from './stream-message.ts';

export { FencedError, StaleCheckpointError, type Checkpoint } from './checkpoint-lease.ts';
export { ONE_STATEMENT_EVENTS } from './one-statement-write.ts';

export interface ProjectionStoreOptions {
  /** Largest batch committed in one statement (default ONE_STATEMENT_EVENTS; 0: always COPY). */
  oneStatementEvents?: number;
}

/**
 * A batch folded but perhaps not yet committed: a later batch's input takes its checkpoint from
 * here and, for the keys this one touched, its state (rows read from the database may predate it).
 */
export interface Pending extends Checkpoint {
  state: FoldState;
}

/**
 * Reads and writes one read-model schema: the state read (state-read.ts), the two write paths
 * (copy-write.ts, one-statement-write.ts) and the lease they write under (checkpoint-lease.ts).
 */
export function createProjectionStore(db: Kysely<Database>, schema: string, o: ProjectionStoreOptions = {}) {
  const pool = poolOf(db);
  const oneStatementEvents = o.oneStatementEvents ?? ONE_STATEMENT_EVENTS;
  /** Commits so far by path (for tests and for the record). */
  const commits = { oneStatement: 0, copy: 0 };
  const lease = createCheckpointLease(db, schema);
  const writeCopy = createCopyWrite(db, schema, lease);
  const writeOneStatement = createOneStatementWrite(db, schema, lease);
  const t = (name: string) => sql.table(`${schema}.${name}`);

  return {
    schema,
    commits,
    readCheckpoint: () => readCheckpoint(db, schema),
    /** See CheckpointLease.takeLead. */
    takeLead: (holder: string): Promise<number> => lease.takeLead(holder),
    /**
     * The normalisation rule the schema is folded with: the stored one, or `configured`, stored
     * now, when the schema has none yet (a fresh schema's first fold).
     */
    async settleRule(configured: string): Promise<string> {
      await sql`insert into ${t('fold_rule')} (rule) values (${configured}) on conflict do nothing`.execute(db);
      const r = await sql<{ rule: string }>`select rule from ${t('fold_rule')}`.execute(db);
      return r.rows[0]!.rule;
    },
    /** The epoch this store writes under (undefined until takeLead). */
    get epoch() {
      return lease.epoch;
    },
    /**
     * Applies a batch in one transaction: read models, verbatim ledger rows with their chain
     * hashes, and the checkpoint. Messages at or below the checkpoint are skipped.
     */
    async applyBatch(messages: readonly StreamMessage[], fold: (input: FoldInput) => FoldOutput): Promise<FoldOutput> {
      return inTransaction(pool, async (client) => {
        const input = await loadInput(db, schema, lease, clientExec(client), messages);
        const out = fold(input);
        if (out.lastSeq > input.lastSeq) await writeCopy(client, out, input, undefined, false);
        return out;
      });
    },
    /**
     * The input of a batch as stored, read outside any transaction (batches folded but not yet
     * committed are laid over it by the caller: overlayPending in batch-pipeline.ts).
     */
    loadInput: (messages: readonly StreamMessage[], ids?: BatchIds) =>
      loadInput(db, schema, lease, kyselyExec(db), messages, ids),
    /**
     * Writes a folded batch in one transaction, if the checkpoint is still `prev` (else
     * StaleCheckpointError). With `after` (the commit of the batch before), its new rows go in at
     * once and the rest waits for `after`: two batches are written at the same time. A small
     * batch waits for `after` and then goes in as one statement (writeOneStatement).
     */
    async commit(out: FoldOutput, prev: Checkpoint, after?: Promise<unknown>): Promise<void> {
      if (out.lastSeq <= prev.lastSeq) {
        await after;
        return;
      }
      if (fitsOneStatement(out, oneStatementEvents)) {
        await after;
        await writeOneStatement(out, prev);
        commits.oneStatement += 1;
        return;
      }
      await inTransaction(pool, (client) => writeCopy(client, out, prev, after, true), true);
      commits.copy += 1;
    },
  };
}
export type ProjectionStore = ReturnType<typeof createProjectionStore>;
