// What every read route runs its statements through: the request's cancellation scope (its
// statements are cancelled when its client goes away), a place in the route's read lane, the
// statement timeout answered as 503 with Retry-After instead of a failure, and the pace of answers
// that cost no statement (a lane's refusal, an answer kept in memory).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnavailableError } from '@claimtrail/shared/errors';
import type { AnswerPacer } from './answer-pacer.ts';
import type { CancellableReads } from './cancellable-reads.ts';
import { AbandonedError, LaneFullError, type ReadLanes } from './read-lanes.ts';

/** The routes' read lanes (one per route family; their limits are in query.app.ts). */
export type ReadLane = 'topics' | 'metrics' | 'history' | 'claim' | 'events' | 'summary' | 'timeline' | 'sources';

/** Runs `statement` in `lane` for the request at hand. */
export type Read = <T>(lane: ReadLane, statement: () => Promise<T>) => Promise<T>;

/** Postgres's SQLSTATE of a statement cancelled, by statement_timeout or by pg_cancel_backend. */
const QUERY_CANCELED = '57014';

const gone = () => new UnavailableError('the client went away before the answer', 1);

export function createReadGuard(deps: {
  reads: CancellableReads;
  lanes: ReadLanes<ReadLane>;
  pacer: AnswerPacer;
  timeoutMs: number;
}) {
  const tooLong = (cause: unknown) =>
    new UnavailableError(
      `the read took longer than the limit of ${deps.timeoutMs} ms and was stopped; retry later, or ask for less (a smaller limit, a narrower window)`,
      2,
      cause,
    );

  /** A statement cancelled by the timeout becomes a 503; anything else goes on as it is. */
  function timeoutAsUnavailable(err: unknown): unknown {
    return (err as { code?: unknown } | null)?.code === QUERY_CANCELED ? tooLong(err) : err;
  }

  return {
    timeoutAsUnavailable,
    /** Waits for the turn of an answer that costs no statement (answer-pacer.ts). */
    pace: () => deps.pacer.turn(),
    /**
     * Runs a route's handler in a scope of its own: when the request's socket closes before its
     * answer is sent, the statements it is running are cancelled and its place in a queue given
     * up.
     */
    async handle<T>(req: FastifyRequest, reply: FastifyReply, handler: (read: Read) => Promise<T>): Promise<T> {
      const scope = deps.reads.scope();
      const abandoned = new AbortController();
      const res = reply.raw;
      const onClose = () => {
        if (res.writableFinished) return;
        abandoned.abort();
        void scope.cancel();
      };
      if (req.raw.destroyed || res.destroyed) onClose();
      else res.on('close', onClose);
      const read: Read = async (lane, statement) => {
        try {
          return await deps.lanes.run(lane, statement, abandoned.signal);
        } catch (err) {
          if (abandoned.signal.aborted || err instanceof AbandonedError) throw gone();
          throw timeoutAsUnavailable(err);
        }
      };
      try {
        return await scope.run(() => handler(read));
      } catch (err) {
        if (err instanceof LaneFullError) await deps.pacer.turn();
        throw err;
      } finally {
        res.off('close', onClose);
      }
    },
  };
}
export type ReadGuard = ReturnType<typeof createReadGuard>;
