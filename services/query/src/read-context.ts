import { sql, type Kysely } from 'kysely';
import type { Database } from '@claimtrail/shared/db';
import { getActiveSchema } from '@claimtrail/shared/db';
import { UnavailableError, ValidationError } from '@claimtrail/shared/errors';
import { createCheckpointWatcher } from './checkpoint-watcher.ts';

export interface ReadContext {
  schema: string;
  asOfSeq: number;
  /** The instant the answer is as of (ISO). */
  knownAt: string;
  /** True when the caller asked for a past instant; false means "now" (current rows). */
  past: boolean;
}

/**
 * Resolves the live read-model schema (switchable by promotion) and the checkpoint, and makes
 * `minSeq` readers wait for the projection through the one checkpoint watcher, which also feeds
 * the live feed (`watcher`).
 *
 * Requests that arrive while a read of the checkpoint (or of the schema) is in flight share it
 * rather than each sending its own: a flood of requests costs one such statement at a time, not
 * one each queued on the pool ahead of every other read. Sharing keeps asOfSeq monotonic: a
 * shared read started after every earlier one ended, so it sees at least what they saw.
 * `shared` runs those reads outside any one request's cancellation scope.
 */
export function createReadContexts(
  db: Kysely<Database>,
  metaSchema: string,
  o: {
    maxWaitMs?: number;
    /** How often the checkpoint is read while a read waits for a seq. */
    pollMs?: number;
    /** How often the checkpoint is read while only live pages listen. */
    livePollMs?: number;
    shared?: <T>(read: () => Promise<T>) => Promise<T>;
  } = {},
) {
  const shared = o.shared ?? (<T>(read: () => Promise<T>) => read());
  let cached: { schema: string; at: number } | undefined;
  let schemaInFlight: Promise<string> | undefined;
  const seqInFlight = new Map<string, Promise<number>>();

  function schema(): Promise<string> {
    const now = Date.now();
    if (cached && now - cached.at < 500) return Promise.resolve(cached.schema);
    schemaInFlight ??= shared(async () => {
      try {
        const s = await getActiveSchema(db, metaSchema);
        if (!s) throw new UnavailableError('the read models are not migrated yet', 5);
        cached = { schema: s, at: now };
        return s;
      } finally {
        schemaInFlight = undefined;
      }
    });
    return schemaInFlight;
  }

  function lastSeq(s: string): Promise<number> {
    let inFlight = seqInFlight.get(s);
    if (!inFlight) {
      inFlight = shared(async () => {
        try {
          const row = await db
            .withSchema(s)
            .selectFrom('checkpoint')
            .select('last_seq')
            .where('name', '=', 'projector')
            .executeTakeFirst();
          return row ? Number(row.last_seq) : 0;
        } finally {
          seqInFlight.delete(s);
        }
      });
      seqInFlight.set(s, inFlight);
    }
    return inFlight;
  }

  const watcher = createCheckpointWatcher({
    read: async () => lastSeq(await schema()),
    ...(o.maxWaitMs === undefined ? {} : { maxWaitMs: o.maxWaitMs }),
    ...(o.pollMs === undefined ? {} : { waitingPollMs: o.pollMs }),
    ...(o.livePollMs === undefined ? {} : { listeningPollMs: o.livePollMs }),
  });

  return {
    schema,
    watcher,
    async resolve(q: { knownAt?: string | undefined; minSeq?: number | undefined }): Promise<ReadContext> {
      const s = await schema();
      let seq = await lastSeq(s);
      if (q.minSeq !== undefined && seq < q.minSeq) seq = await watcher.waitFor(q.minSeq);
      if (q.knownAt === undefined) return { schema: s, asOfSeq: seq, knownAt: new Date().toISOString(), past: false };
      const at = new Date(q.knownAt);
      if (Number.isNaN(at.getTime()))
        throw new ValidationError('knownAt is not a valid instant', [
          { path: 'query:/knownAt', message: 'must be an RFC 3339 date-time' },
        ]);
      return { schema: s, asOfSeq: seq, knownAt: at.toISOString(), past: true };
    },
    close() {
      watcher.close();
    },
  };
}
export type ReadContexts = ReturnType<typeof createReadContexts>;

/** Rows of a versioned table visible at the context's instant. */
export function visibleAt(ctx: ReadContext, alias: string) {
  const a = sql.ref(alias);
  return ctx.past
    ? sql`(${a}.known_from <= ${ctx.knownAt}::timestamptz and (${a}.known_to is null or ${a}.known_to > ${ctx.knownAt}::timestamptz))`
    : sql`(${a}.seq_to is null)`;
}
