// Tells connected browsers the projection's newest seq.
//
// Why poll the checkpoint rather than LISTEN/NOTIFY (the projector sends no NOTIFY): the query service is
// meant to run on read replicas (ARCHITECTURE.md, "Past one machine") and behind poolers, and a
// hot standby never delivers NOTIFY while a transaction-pooling pgbouncer drops LISTEN. A poll
// of one indexed row also follows a promotion to a new read-model schema (whose channel name
// would differ) for free. One poller serves every client and runs only while someone listens,
// so the cost is one cheap query per `pollMs` whatever the number of open pages.

export interface LiveFeed {
  /** Calls `onSeq` with the current seq at once and then whenever it changes; returns an unsubscribe. */
  subscribe(onSeq: (seq: number) => void): () => void;
  readonly clients: number;
  close(): void;
}

export function createLiveFeed(o: { currentSeq: () => Promise<number>; pollMs?: number }): LiveFeed {
  const pollMs = o.pollMs ?? 250;
  const listeners = new Set<(seq: number) => void>();
  let last: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  async function tick() {
    timer = undefined;
    if (closed || listeners.size === 0) return;
    // A failed read (database restarting) is not news: try again at the next tick.
    const seq = await o.currentSeq().catch(() => undefined);
    if (seq !== undefined && seq !== last) {
      last = seq;
      for (const l of listeners) l(seq);
    }
    if (!closed && listeners.size > 0) timer = setTimeout(() => void tick(), pollMs);
  }

  return {
    subscribe(onSeq) {
      if (closed) return () => undefined;
      // While nobody listened `last` went stale: forget it so the next tick tells everyone.
      if (listeners.size === 0) last = undefined;
      else if (last !== undefined) onSeq(last);
      listeners.add(onSeq);
      if (timer === undefined) timer = setTimeout(() => void tick(), 0);
      return () => {
        listeners.delete(onSeq);
      };
    },
    get clients() {
      return listeners.size;
    },
    close() {
      closed = true;
      listeners.clear();
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
