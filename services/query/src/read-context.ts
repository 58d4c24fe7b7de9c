import { sql, type Kysely } from 'kysely';
import type { Database } from '@claimtrail/shared/db';
import { getActiveSchema } from '@claimtrail/shared/db';
import { UnavailableError, ValidationError } from '@claimtrail/shared/errors';
import { parseFuzzyDate } from '@claimtrail/shared/events';
import { createCheckpointWatcher } from './checkpoint-watcher.ts';

export interface ReadContext {
  schema: string;
  asOfSeq: number;
  /** The instant the answer is as of (ISO). */
  knownAt: string;
  /** True when the caller asked for a past instant; false means "now" (current rows). */
  past: boolean;
  /**
   * The answer as the public record stood at this date (`publishedBy`, any precision): `to` is
   * the end of its interval; a report counts once its whole publishedAt interval ends by then.
   */
  publishedBy?: { text: string; to: string };
  /**
   * Claims whose statedAt meets this range (`from`, `to`: any precision, each including the whole
   * period it names): ISO instants, `to` exclusive.
   */
  stated?: { from?: string; to?: string };
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
    async resolve(q: {
      knownAt?: string | undefined;
      minSeq?: number | undefined;
      publishedBy?: string | undefined;
      from?: string | undefined;
      to?: string | undefined;
    }): Promise<ReadContext> {
      const from = dateBound('from', q.from);
      const to = dateBound('to', q.to);
      let publishedBy: ReadContext['publishedBy'];
      if (q.publishedBy !== undefined) {
        const d = parseFuzzyDate(q.publishedBy);
        if (!d)
          throw new ValidationError('publishedBy is not a date', [
            { path: 'query:/publishedBy', message: 'must be YYYY, YYYY-MM, YYYY-MM-DD or an RFC 3339 date-time' },
          ]);
        publishedBy = { text: q.publishedBy, to: d.to };
      }
      const s = await schema();
      let seq = await lastSeq(s);
      if (q.minSeq !== undefined && seq < q.minSeq) seq = await watcher.waitFor(q.minSeq);
      const by = {
        ...(publishedBy ? { publishedBy } : {}),
        ...(from !== undefined || to !== undefined
          ? { stated: { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) } }
          : {}),
      };
      if (q.knownAt === undefined)
        return { schema: s, asOfSeq: seq, knownAt: new Date().toISOString(), past: false, ...by };
      const at = new Date(q.knownAt);
      if (Number.isNaN(at.getTime()))
        throw new ValidationError('knownAt is not a valid instant', [
          { path: 'query:/knownAt', message: 'must be an RFC 3339 date-time' },
        ]);
      return { schema: s, asOfSeq: seq, knownAt: at.toISOString(), past: true, ...by };
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

/**
 * Reports (`alias` of reports) that count at the context's `publishedBy`: their whole publishedAt
 * interval ends by the end of its interval. Every report counts without it.
 */
export function reportCounts(ctx: ReadContext, alias: string) {
  return ctx.publishedBy ? sql`(${sql.ref(alias)}.published_to <= ${ctx.publishedBy.to}::timestamptz)` : sql`true`;
}

/**
 * Claims (`alias` of claim_versions) that count at the context's `publishedBy`: a counting report
 * cites them (a citation known at the context's instant). Every claim counts without it.
 */
export function claimCounts(ctx: ReadContext, alias: string) {
  if (!ctx.publishedBy) return sql`true`;
  return sql`exists (select from ${sql.table(`${ctx.schema}.claim_citations`)} pc
      join ${sql.table(`${ctx.schema}.reports`)} pr on pr.report_id = pc.report_id
     where pc.claim_id = ${sql.ref(alias)}.claim_id and ${reportCounts(ctx, 'pr')}
       ${ctx.past ? sql`and pc.known_at <= ${ctx.knownAt}::timestamptz` : sql``})`;
}

/** The `publishedBy` an answer was read at, for its body. */
export function publishedByOf(ctx: ReadContext): { publishedBy?: string } {
  return ctx.publishedBy ? { publishedBy: ctx.publishedBy.text } : {};
}

/** A `from` or `to` bound as an instant: `from` includes the whole period it names, so does `to` (its end, exclusive). */
function dateBound(name: 'from' | 'to', v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const d = parseFuzzyDate(v);
  if (!d)
    throw new ValidationError(
      `${name} must be YYYY, YYYY-MM, YYYY-MM-DD or an RFC 3339 date-time, within the years 0001 to 9999`,
      [{ path: `query:/${name}`, message: 'invalid date' }],
    );
  return name === 'from' ? d.from : d.to;
}

/** Claims (`alias` of claim_versions) whose statedAt meets the context's `from`/`to`. */
export function statedWithin(ctx: ReadContext, alias: string) {
  const a = sql.ref(alias);
  return sql`${ctx.stated?.from ? sql`${a}.stated_to > ${ctx.stated.from}::timestamptz` : sql`true`}
    and ${ctx.stated?.to ? sql`${a}.stated_from < ${ctx.stated.to}::timestamptz` : sql`true`}`;
}
