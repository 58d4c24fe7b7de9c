import { setTimeout as sleep } from 'node:timers/promises';
import type { FoldInput, FoldOutput, StreamMessage } from './fold.ts';
import type { Checkpoint, Pending, ProjectionStore } from './projection-store.ts';

export interface BatchPipelineOptions {
  store: ProjectionStore;
  fold: (input: FoldInput, batch: readonly StreamMessage[]) => FoldOutput;
  /** Called before each retry of a batch that failed to load or commit. */
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
  /** True once the owner is stopping: a batch then gives up after a few retries instead of retrying for ever. */
  stopping?: () => boolean;
}

/**
 * Folds batch n+1 while batch n is being written. The fold runs in Node and the write in
 * Postgres, so on two cores they overlap instead of taking turns; at most one batch is being
 * written while the next is folded, and commits stay in stream order.
 *
 * The next batch's input is read from the database while the previous batch may not be committed
 * yet; the previous fold's end state (`Pending`) stands in for it wherever it has the key, and its
 * checkpoint is the one the next batch is folded from. Each commit checks that the stored
 * checkpoint is the one its batch was folded from; when it is not (a write whose outcome was
 * lost, a failed commit), the batch is refolded from what is stored, as the sequential path does.
 * The projector is the only writer of its schema (advisory lock), which is what makes the stand-in
 * state exact.
 */
export function createBatchPipeline(o: BatchPipelineOptions) {
  /** The write in flight (it settles once its batch is committed, refolded if need be). */
  let writing: Promise<FoldOutput> | undefined;
  /** The last folded batch, committed or not. */
  let pending: Pending | undefined;

  async function retrying(attempt: number, err: unknown): Promise<void> {
    if (o.stopping?.() && attempt > 2) throw err;
    const wait = Math.min(5000, 100 * 2 ** attempt);
    o.onRetry?.(err, attempt, wait);
    await sleep(wait);
  }

  async function load(batch: readonly StreamMessage[]): Promise<FoldInput> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await o.store.loadInput(batch, pending);
      } catch (err) {
        await retrying(attempt, err);
      }
    }
  }

  async function commit(batch: readonly StreamMessage[], out: FoldOutput, prev: Checkpoint): Promise<FoldOutput> {
    try {
      await o.store.commit(out, prev);
      return out;
    } catch (err) {
      // Refold from what is stored, in one transaction, until it commits.
      for (let attempt = 0; ; attempt += 1) {
        await retrying(attempt, err);
        try {
          const again = await o.store.applyBatch(batch, (input) => o.fold(input, batch));
          if (pending && pending.lastSeq <= again.lastSeq) pending = undefined;
          return again;
        } catch (e) {
          err = e;
        }
      }
    }
  }

  return {
    /**
     * Folds `batch` now, waits for the previous batch's commit, and starts writing this one.
     * Resolves, once the write has started, to a promise of its commit.
     */
    async submit(batch: readonly StreamMessage[]): Promise<{ committed: Promise<FoldOutput> }> {
      const input = await load(batch);
      const out = o.fold(input, batch);
      pending = { lastSeq: out.lastSeq, chainHash: out.chainHash, knownAt: out.knownAt, state: out.after };
      if (writing) await writing;
      const committed = commit(batch, out, input);
      writing = committed;
      // Its failure is reported to the next submit or the drain, which await it.
      committed.catch(() => undefined);
      return { committed };
    },
    /** Waits for the last write. */
    async drain(): Promise<void> {
      if (writing) await writing;
    },
  };
}
export type BatchPipeline = ReturnType<typeof createBatchPipeline>;
