// A bound on the reads in flight: each route has a lane (a few statements at once, a short queue
// that waits at most `maxWaitMs`), and all lanes share a total below the pool's size. A flood of one
// route fills its own lane and is answered 503 with Retry-After beyond it, while the other routes
// keep their lanes: a queue without end is what made one flood of /v1/topics starve every read.
import { UnavailableError } from '@claimtrail/shared/errors';

export interface LaneLimits {
  /** Statements of this lane at once. */
  concurrency: number;
  /** Requests that may wait for a place; beyond them, 503 at once. */
  queue: number;
}

export interface ReadLaneOptions<L extends string> {
  /** Statements of all lanes at once: keep it below the pool's size, so other work finds a connection. */
  total: number;
  /** The longest a request waits for a place before it is answered 503. */
  maxWaitMs: number;
  lanes: Record<L, LaneLimits>;
}

interface Waiter {
  grant: () => void;
  fail: (err: Error) => void;
}

interface Lane<L extends string> {
  name: L;
  limits: LaneLimits;
  active: number;
  waiters: Waiter[];
}

/** A lane full, or a wait for it too long: 503 with Retry-After. */
export class LaneFullError extends UnavailableError {
  constructor(lane: string) {
    super(`too many reads of ${lane} in flight; retry in a second`, 1);
    this.name = 'LaneFullError';
  }
}

/** The error of a request whose client went away while it waited: nobody reads its answer. */
export class AbandonedError extends Error {
  constructor() {
    super('the client went away');
    this.name = 'AbandonedError';
  }
}

export function createReadLanes<L extends string>(o: ReadLaneOptions<L>) {
  const lanes = new Map<L, Lane<L>>();
  for (const [name, limits] of Object.entries(o.lanes) as [L, LaneLimits][])
    lanes.set(name, { name, limits, active: 0, waiters: [] });
  const order = [...lanes.values()];
  let active = 0;
  let turn = 0;
  let rejected = 0;

  const busy = (lane: Lane<L>) => new LaneFullError(lane.name);

  /** Hands free places to waiters, taking the lanes in turn so that no lane's queue starves another's. */
  function pump() {
    while (active < o.total) {
      let granted = false;
      for (let i = 0; i < order.length; i++) {
        const lane = order[(turn + i) % order.length]!;
        if (lane.waiters.length === 0 || lane.active >= lane.limits.concurrency) continue;
        turn = (turn + i + 1) % order.length;
        lane.active++;
        active++;
        lane.waiters.shift()!.grant();
        granted = true;
        break;
      }
      if (!granted) return;
    }
  }

  function acquire(lane: Lane<L>, signal: AbortSignal | undefined): Promise<void> | undefined {
    if (signal?.aborted) throw new AbandonedError();
    if (lane.waiters.length === 0 && lane.active < lane.limits.concurrency && active < o.total) {
      lane.active++;
      active++;
      turn = (order.indexOf(lane) + 1) % order.length;
      return undefined;
    }
    if (lane.waiters.length >= lane.limits.queue) {
      rejected++;
      throw busy(lane);
    }
    return new Promise<void>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = lane.waiters.indexOf(w);
        if (i >= 0) lane.waiters.splice(i, 1);
      };
      const w: Waiter = {
        grant: () => {
          leave();
          resolve();
        },
        fail: (err) => {
          leave();
          reject(err);
        },
      };
      const onAbort = () => w.fail(new AbandonedError());
      const timer = setTimeout(() => {
        rejected++;
        w.fail(busy(lane));
      }, o.maxWaitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      lane.waiters.push(w);
    });
  }

  return {
    /**
     * Runs `read` when its lane and the total have a place: at once, after a wait of at most
     * `maxWaitMs`, or never (UnavailableError, 503 with Retry-After). `signal`: the request's
     * client went away, so it leaves the queue.
     */
    async run<T>(name: L, read: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      const lane = lanes.get(name);
      if (!lane) throw new Error(`no read lane ${name}`);
      const waiting = acquire(lane, signal);
      if (waiting) await waiting;
      try {
        return await read();
      } finally {
        lane.active--;
        active--;
        pump();
      }
    },
    /** What is in flight and waiting, per lane, and how many requests were turned away. */
    stats() {
      return {
        active,
        rejected,
        lanes: Object.fromEntries(
          order.map((l) => [l.name, { active: l.active, waiting: l.waiters.length }]),
        ) as Record<L, { active: number; waiting: number }>,
      };
    },
    close() {
      for (const lane of order) for (const w of [...lane.waiters]) w.fail(new UnavailableError('shutting down', 1));
    },
  };
}
export type ReadLanes<L extends string = string> = ReturnType<typeof createReadLanes<L>>;
