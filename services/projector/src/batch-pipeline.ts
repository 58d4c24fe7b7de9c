import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { idsOfBatch, type BatchIds } from './batch-ids.ts';
import type { FoldInput, FoldOutput } from './fold-rows.ts';
import { prepareMessages } from './prepare.ts';
import type { StreamMessage } from './stream-message.ts';
import type { Checkpoint, Pending, ProjectionStore } from './projection-store.ts';

export interface BatchPipelineOptions {
  store: ProjectionStore;
  fold: (input: FoldInput, batch: readonly StreamMessage[]) => FoldOutput;
  /** Called before each retry of a batch that failed to load or commit. */
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
  /** True once the owner is stopping: a batch then gives up after a few retries instead of retrying for ever. */
  stopping?: () => boolean;
  /** Failures that no retry can mend (a lost lead, missing messages): the batch fails at once. */
  isFinal?: (err: unknown) => boolean;
}

/** What `submit` gives back: when the batch is folded (its write started), and when it is committed. */
export interface Submitted {
  folded: Promise<void>;
  committed: Promise<FoldOutput>;
}

/**
 * The input as it is after `pendings` (folded batches, oldest first, that may be missing from
 * what was read): their checkpoint, and for every key of the batch (`ids`) the state the newest
 * of them has. Only the batch's keys are taken, so state does not pile up from batch to batch.
 */
export function overlayPending(input: FoldInput, ids: BatchIds, pendings: readonly Pending[]): FoldInput {
  const last = pendings[pendings.length - 1];
  if (!last) return input;
  for (const { state: s } of pendings) {
    for (const k of ids.claimIds) {
      const v = s.claims.get(k);
      if (v) input.claims.set(k, v);
      const p = s.parked.get(k);
      if (p !== undefined) input.parked.set(k, p);
    }
    for (const k of ids.sourceIds) {
      const v = s.sources.get(k);
      if (v) input.sources.set(k, v);
    }
    for (const k of ids.metricNames) {
      const v = s.metrics.get(k);
      if (v) input.metrics.set(k, v);
    }
    for (const k of ids.eventIds) {
      const v = s.seenEventIds.get(k);
      if (v !== undefined) input.seenEventIds.set(k, v);
    }
    for (const k of ids.reportIds) if (s.reports.has(k)) input.reports.add(k);
  }
  return { ...input, lastSeq: last.lastSeq, chainHash: last.chainHash, knownAt: last.knownAt };
}

/**
 * Postgres refused the rows themselves (a value out of range, text it cannot hold, a key already
 * there, a row too large for an index): writing the same rows again fails the same way, so the
 * event behind them is found and parked instead (SQLSTATE classes 22, 23 and 54).
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}

/** What a dead letter says of an event Postgres refused. */
function refusalOf(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return `Postgres refused to store it (${e.code ?? '?'}): ${e.message ?? String(err)}`;
}

/**
 * How many batches are written at once, each in a transaction of its own. A batch's new rows go
 * in while the one before it is still being written; it moves the checkpoint once that one is
 * committed (`commit` in projection-store.ts). Postgres runs each transaction on one core; two
 * keep the second core busy during catch-up (the write was the slowest stage by far).
 */
const MAX_WRITES = 2;

/**
 * Payloads prepared (parsed, decoded, canonical text: preparePayload) in one turn of the event
 * loop. A batch of 1,000 took this thread 15 ms in one piece, and every write in flight waited
 * that long for its next step (the write's own pool.connect waited 20-28 ms).
 */
const PREPARE_SLICE = 64;

async function prepareInSlices(batch: readonly StreamMessage[]): Promise<void> {
  for (let i = 0; i < batch.length; i += PREPARE_SLICE) {
    await nextTurn();
    prepareMessages(batch, i, Math.min(batch.length, i + PREPARE_SLICE));
  }
}

/**
 * Batches at several stages at once: Postgres reads what batch n+1 needs while this thread folds
 * batch n and Postgres writes batches n-1 and n-2. Folds run one at a time in stream order, and
 * commits are in stream order too.
 *
 * A batch's stored state is read as soon as it is submitted, before the batches ahead of it are
 * committed, or even folded. The batches that were not committed when its read began are laid
 * over what was read (`overlayPending`), oldest first, once they are folded: a key one of them
 * touched takes the state it left, every other key was last changed by a batch committed before
 * the read, which the read saw. Each commit also checks that the stored checkpoint is the one its
 * batch was folded from; when it is not (a write whose outcome was lost, a failed commit) the
 * batch is refolded from what is stored, in one transaction, as the sequential path does. The
 * projector is the only writer of its schema (advisory lock), which is what makes this exact.
 */
export function createBatchPipeline(o: BatchPipelineOptions) {
  /**
   * The writes in flight, oldest first; once any was started the newest is always here. Each
   * settles once its batch, and every batch before it, is committed (refolded if need be).
   */
  const writes: Promise<FoldOutput>[] = [];
  /** Folds run one after another in submission order. */
  let folding: Promise<unknown> = Promise.resolve();
  let submitted = 0;
  /** Batches [0, committed) are known to be committed. */
  let committed = 0;
  /** Folded batches by index, kept while a later batch's read may have missed them. */
  const states = new Map<number, Pending>();
  /** Of each batch not yet folded, the first batch its read may have missed. */
  const watermarks = new Map<number, number>();
  /** The batch submitted last (`submitInTurn` waits for its fold, `drain` for its commit). */
  let last: Submitted | undefined;

  async function retrying(attempt: number, err: unknown): Promise<void> {
    if (o.isFinal?.(err)) throw err;
    if (o.stopping?.() && attempt > 2) throw err;
    const wait = Math.min(5000, 100 * 2 ** attempt);
    o.onRetry?.(err, attempt, wait);
    await sleep(wait);
  }

  /** The batch's stored state, and its ids (worked out once: the read and the overlay use them). */
  async function load(batch: readonly StreamMessage[]): Promise<{ stored: FoldInput; ids: BatchIds }> {
    await prepareInSlices(batch);
    const ids = idsOfBatch(batch);
    for (let attempt = 0; ; attempt += 1) {
      try {
        return { stored: await o.store.loadInput(batch, ids), ids };
      } catch (err) {
        await retrying(attempt, err);
      }
    }
  }

  /** Events of this pipeline's batches that Postgres refused, by seq: parked by every later fold. */
  const refused = new Map<number, string>();

  /** Folds and writes `batch` from what is stored, in one transaction. */
  function apply(batch: readonly StreamMessage[]): Promise<FoldOutput> {
    return o.store.applyBatch(batch, (input) => o.fold(refused.size > 0 ? { ...input, refused } : input, batch));
  }

  /**
   * Applies `batch` in parts when Postgres refuses its rows: halves until the refused event is
   * alone, which is then parked with Postgres's reason; everything else is written. The outputs
   * of the parts are summed into one, as if the batch had been written at once.
   */
  async function applyIsolating(batch: readonly StreamMessage[]): Promise<FoldOutput> {
    try {
      return await apply(batch);
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (batch.length === 1) {
        refused.set(batch[0]!.seq, refusalOf(err));
        return await apply(batch);
      }
      const mid = Math.ceil(batch.length / 2);
      const a = await applyIsolating(batch.slice(0, mid));
      const b = await applyIsolating(batch.slice(mid));
      return { ...b, applied: a.applied + b.applied, deadLetters: [...a.deadLetters, ...b.deadLetters] };
    }
  }

  async function commit(
    batch: readonly StreamMessage[],
    out: FoldOutput,
    prev: Checkpoint,
    before: Promise<unknown> | undefined,
  ): Promise<FoldOutput> {
    try {
      await o.store.commit(out, prev, before);
      return out;
    } catch (err) {
      // The batch before failed for good (its error is reported where it is awaited), or it was
      // committed and this write failed, or Postgres refused a row: refold from what is stored,
      // in one transaction (in parts around a refused event), until it commits.
      await before;
      for (let attempt = 0; ; attempt += 1) {
        await retrying(attempt, err);
        try {
          return await applyIsolating(batch);
        } catch (e) {
          err = e;
        }
      }
    }
  }

  function forget() {
    let keep = committed;
    for (const w of watermarks.values()) keep = Math.min(keep, w);
    for (const i of states.keys()) if (i < keep) states.delete(i);
  }

  async function foldAndWrite(
    index: number,
    batch: readonly StreamMessage[],
    loaded: Promise<{ stored: FoldInput; ids: BatchIds }>,
  ): Promise<{ committed: Promise<FoldOutput> }> {
    const { stored: base, ids } = await loaded;
    const pendings: Pending[] = [];
    for (let i = watermarks.get(index)!; i < index; i += 1) {
      const s = states.get(i);
      if (s) pendings.push(s);
    }
    const input = overlayPending(base, ids, pendings);
    const out = o.fold(input, batch);
    states.set(index, { lastSeq: out.lastSeq, chainHash: out.chainHash, knownAt: out.knownAt, state: out.after });
    watermarks.delete(index);
    while (writes.length >= MAX_WRITES) await writes.shift()!.catch(() => undefined);
    const before = writes.at(-1);
    const done = commit(batch, out, input, before).then((c) => {
      committed = index + 1;
      forget();
      return c;
    });
    writes.push(done);
    return { committed: done };
  }

  /**
   * Starts reading what `batch` needs now, folds it once the batches before it are folded, and
   * starts writing it once fewer than MAX_WRITES batches are being written.
   */
  function submit(batch: readonly StreamMessage[]): Submitted {
    const index = submitted++;
    watermarks.set(index, committed);
    const loaded = load(batch);
    loaded.catch(() => undefined);
    const step = folding.then(() => foldAndWrite(index, batch, loaded));
    folding = step;
    const result: Submitted = {
      folded: step.then(() => undefined),
      committed: step.then((s) => s.committed),
    };
    // Failures are reported to whoever awaits these (the owner, the next batch or the drain).
    result.folded.catch(() => undefined);
    result.committed.catch(() => undefined);
    last = result;
    return result;
  }

  return {
    /**
     * Submits `batch`, then waits until the batch submitted before it is folded: a caller that
     * submits in turn keeps at most two batches waiting for the fold (one being read while the
     * other is folded), whatever its pace. Rejects when that batch failed for good.
     */
    async submitInTurn(batch: readonly StreamMessage[]): Promise<Submitted> {
      const before = last?.folded;
      const result = submit(batch);
      await before;
      return result;
    },
    /**
     * Waits for every submitted batch to be committed: the last one's `committed` settles after
     * every batch before it, and after what the caller chained on it before calling this.
     */
    async drain(): Promise<void> {
      await last?.committed;
    },
  };
}
export type BatchPipeline = ReturnType<typeof createBatchPipeline>;
