// The bounds of the query service's reads (docs/query-limits.md describes them for clients).
import type { LaneLimits } from './read-lanes.ts';
import type { ReadLane } from './read-guard.ts';

export interface QueryLimits {
  /** Statements of all read lanes at once: below the pool's 16 connections, so that the
   * checkpoint, token and live-feed reads always find one. */
  readsInFlight: number;
  /** The longest a request waits for a place in its lane before it is answered 503. */
  laneWaitMs: number;
  lanes: Record<ReadLane, LaneLimits>;
  /** Open /v1/live streams per client address; past it, 429. */
  liveStreamsPerClient: number;
  /** Answers that cost no statement (shared topics, refusals) sent per turn of the event loop. */
  answersPerTurn: number;
  /** The longest a CSV export's one statement may run (its statement_timeout), reading included. */
  exportTimeoutMs: number;
  /** The longest a CSV export waits for its client to take a batch before it stops. */
  exportStallMs: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = {
  readsInFlight: 12,
  laneWaitMs: 1000,
  lanes: {
    topics: { concurrency: 3, queue: 16 },
    metrics: { concurrency: 2, queue: 16 },
    history: { concurrency: 4, queue: 32 },
    claim: { concurrency: 4, queue: 64 },
    events: { concurrency: 2, queue: 16 },
    summary: { concurrency: 3, queue: 16 },
    timeline: { concurrency: 2, queue: 16 },
    sources: { concurrency: 2, queue: 16 },
  },
  liveStreamsPerClient: 8,
  answersPerTurn: 32,
  exportTimeoutMs: 600_000,
  exportStallMs: 30_000,
};

/** Some of the bounds, to replace the defaults' (a lane's limits replaced whole). */
export type QueryLimitsOverride = Partial<Omit<QueryLimits, 'lanes'>> & {
  lanes?: Partial<Record<ReadLane, LaneLimits>>;
};

/** The defaults with some bounds replaced. */
export function queryLimitsOf(over: QueryLimitsOverride | undefined): QueryLimits {
  return {
    ...DEFAULT_QUERY_LIMITS,
    ...over,
    lanes: { ...DEFAULT_QUERY_LIMITS.lanes, ...over?.lanes },
  };
}
