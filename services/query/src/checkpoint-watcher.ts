// The one watcher of the projection's checkpoint: `minSeq` reads wait on it and the live feed
// (GET /v1/live) listens to it. It reads the checkpoint only while someone waits or listens:
// every `waitingPollMs` while a read waits for a seq, every `listeningPollMs` while only pages
// listen.
//
// Why poll the checkpoint rather than LISTEN/NOTIFY: docs/decisions/0007-polling-the-checkpoint.md.
import { UnavailableError } from '@claimtrail/shared/errors';

export interface CheckpointWatcher {
  /** Resolves with the applied seq once it is at least `minSeq`; 503 after `maxWaitMs`. */
  waitFor(minSeq: number): Promise<number>;
  /** Calls `onSeq` with the current seq soon and then whenever it changes; returns an unsubscribe. */
  subscribe(onSeq: (seq: number) => void): () => void;
  readonly listeners: number;
  close(): void;
}

export function createCheckpointWatcher(o: {
  /** Reads the applied seq (a failed read is no news: the watcher tries again at the next tick). */
  read: () => Promise<number>;
  maxWaitMs?: number;
  waitingPollMs?: number;
  listeningPollMs?: number;
}): CheckpointWatcher {
  const maxWaitMs = o.maxWaitMs ?? 5000;
  const waitingPollMs = o.waitingPollMs ?? 15;
  const listeningPollMs = o.listeningPollMs ?? 250;
  const waiters = new Set<{ minSeq: number; resolve: (seq: number) => void }>();
  const listeners = new Set<(seq: number) => void>();
  /** The seq the listeners were last told (undefined: tell them the next one read). */
  let told: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let closed = false;

  function schedule(delayMs: number) {
    if (closed || timer !== undefined || running) return;
    if (waiters.size === 0 && listeners.size === 0) return;
    timer = setTimeout(() => void tick(), delayMs);
  }

  async function tick() {
    timer = undefined;
    running = true;
    try {
      const seq = await o.read().catch(() => undefined);
      if (seq !== undefined) {
        for (const w of waiters) if (seq >= w.minSeq) w.resolve(seq);
        if (seq !== told && listeners.size > 0) {
          told = seq;
          for (const l of listeners) l(seq);
        }
      }
    } finally {
      running = false;
    }
    schedule(waiters.size > 0 ? waitingPollMs : listeningPollMs);
  }

  return {
    waitFor(minSeq) {
      return new Promise<number>((resolve, reject) => {
        const w = {
          minSeq,
          resolve: (seq: number) => {
            clearTimeout(deadline);
            waiters.delete(w);
            resolve(seq);
          },
        };
        const deadline = setTimeout(() => {
          waiters.delete(w);
          reject(
            new UnavailableError(`the projection has not reached seq ${minSeq} within ${maxWaitMs / 1000} s; retry`, 1),
          );
        }, maxWaitMs);
        waiters.add(w);
        // A waiter wants the fast pace: a tick already planned at the slow one is brought forward.
        if (timer !== undefined) {
          clearTimeout(timer);
          timer = undefined;
        }
        schedule(0);
      });
    },
    subscribe(onSeq) {
      if (closed) return () => undefined;
      // While nobody listened, `told` went stale: the next read tells everyone.
      if (listeners.size === 0) told = undefined;
      else if (told !== undefined) onSeq(told);
      listeners.add(onSeq);
      schedule(0);
      return () => {
        listeners.delete(onSeq);
      };
    },
    get listeners() {
      return listeners.size;
    },
    close() {
      closed = true;
      waiters.clear();
      listeners.clear();
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
