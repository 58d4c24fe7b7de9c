import { sql, type Kysely } from 'kysely';
import { getActiveSchema, poolOf, quoteIdent, type Database } from '@claimtrail/shared/db';
import { DEFAULT_RULE, getNormalisationRule, mustParseFuzzyDate, type ClaimValue } from '@claimtrail/shared/events';
import type { Logger } from '@claimtrail/shared';

/** A claim a new one may repeat in other words: a hint in the answer, nothing is merged. */
export interface SimilarClaim {
  claimId: string;
  statedAt: string;
  value: ClaimValue;
}

export interface SimilarQuery {
  topic: string;
  metric: string;
  sourceId: string;
  statedAt: string;
  value: ClaimValue;
  /** The claim's own id, which is never its own hint (a retry finds it in the read models). */
  claimId: string;
}

/**
 * Looks up, for each claim of a report, the claims of the same topic, metric and source whose
 * normalised intervals overlap its own and whose `statedAt` lies within 7 days of its own (the
 * contract's `similar`). Answers `undefined` for the whole report when the read models could not
 * say: their Postgres is down or slow, or not migrated.
 */
export interface SimilarFinder {
  find(claims: readonly SimilarQuery[]): Promise<SimilarClaim[][] | undefined>;
}

/** At most this many hints a claim, the nearest in time first. */
export const SIMILAR_LIMIT = 10;
const WINDOW_DAYS = 7;
/** After a failed lookup, reports get no hints for this long instead of waiting on Postgres each. */
const BACKOFF_MS = 5000;
/**
 * How long a report's answer waits for its hints once its events are stored: a lookup takes a
 * millisecond or two; a hung Postgres must not hold the answer.
 */
export const SIMILAR_DEADLINE_MS = 250;
/** At most this many claims in one lookup statement (the reports waiting while one runs go together). */
const BATCH_CLAIMS = 1000;
/** A lookup statement not answered by then fails its reports, and the next one runs. */
const STATEMENT_GIVE_UP_MS = 2000;
/** How long the active schema and its rule are trusted (a promotion switches them). */
const SCHEMA_TTL_MS = 5000;

/** The lookup's statement over the read models of `schema`, with the claims as arrays $1..$8. */
function statementFor(schema: string): string {
  const versions = `${quoteIdent(schema)}.claim_versions`;
  return `
    select q.i, v.claim_id, v.stated_at, v.value
      from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::numeric[],
                  $7::numeric[], $8::text[])
           with ordinality as q(topic, metric, source_id, sfrom, sto, low, high, self, i)
     cross join lateral (
       select v.claim_id, v.stated_at, v.value, v.stated_from
         from ${versions} v
        where v.topic = q.topic and v.metric = q.metric and v.source_id = q.source_id
          and v.seq_to is null and v.status <> 'retracted' and v.claim_id <> q.self
          -- statedAt periods within ${WINDOW_DAYS} days of each other ([from, to), an instant as 1 ms)
          and v.stated_from < greatest(q.sto, q.sfrom + interval '1 millisecond') + interval '${WINDOW_DAYS} days'
          and greatest(v.stated_to, v.stated_from + interval '1 millisecond') > q.sfrom - interval '${WINDOW_DAYS} days'
          -- a year is the widest statedAt: a bound the index can use
          and v.stated_from > q.sfrom - interval '${WINDOW_DAYS + 367} days'
          -- normalised intervals overlap (a missing bound is open)
          and (v.low is null or q.high is null or v.low <= q.high)
          and (v.high is null or q.low is null or v.high >= q.low)
        order by abs(extract(epoch from v.stated_from - q.sfrom)), v.claim_id
        limit ${SIMILAR_LIMIT}
     ) v
     order by q.i, abs(extract(epoch from v.stated_from - q.sfrom)), v.claim_id`;
}

/**
 * Reads the read models that the projector keeps (a lookup a report, in the claims' current
 * versions through the index on topic, metric, source and statedAt). They lag the stream by the
 * projector's freshness, milliseconds: a claim posted a moment ago may not be a hint yet. A hint
 * is worked out with the rule the read models are folded with (their `fold_rule`).
 */
export function createSimilarFinder(db: Kysely<Database>, base: string, log: Pick<Logger, 'warn'>): SimilarFinder {
  const pool = poolOf(db);
  let schema: { name: string; rule: string; at: number } | undefined;
  let failedAt = -Infinity;

  const schemaNow = async () => {
    if (schema && Date.now() - schema.at < SCHEMA_TTL_MS) return schema;
    const name = await getActiveSchema(db, base);
    if (!name) return undefined;
    const r = await sql<{ rule: string }>`select rule from ${sql.id(name, 'fold_rule')}`.execute(db);
    schema = { name, rule: r.rows[0]?.rule ?? DEFAULT_RULE, at: Date.now() };
    return schema;
  };

  const lookup = async (claims: readonly SimilarQuery[]): Promise<SimilarClaim[][] | undefined> => {
    try {
      const s = await schemaNow();
      if (!s) return undefined;
      const rule = getNormalisationRule(s.rule) ?? getNormalisationRule(DEFAULT_RULE)!;
      const rows = claims.map((c) => {
        const stated = mustParseFuzzyDate(c.statedAt);
        const b = rule.normalise(c.value);
        return { ...c, from: stated.from, to: stated.to, low: b.low, high: b.high };
      });
      const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
      // A named statement: parsed and planned once a connection (a report's lookup cost Postgres
      // about as much CPU as ingest spent on the report while it was planned each time).
      const found = await pool.query<{ i: string; claim_id: string; stated_at: string; value: ClaimValue }>({
        name: `claimtrail-similar:${s.name}`,
        text: statementFor(s.name),
        values: [
          col('topic'),
          col('metric'),
          col('sourceId'),
          col('from'),
          col('to'),
          col('low'),
          col('high'),
          col('claimId'),
        ],
      });
      const out: SimilarClaim[][] = claims.map(() => []);
      for (const r of found.rows)
        out[Number(r.i) - 1]!.push({ claimId: r.claim_id, statedAt: r.stated_at, value: r.value });
      return out;
    } catch (err) {
      failedAt = Date.now();
      log.warn({ err }, 'similar claims could not be looked up in the read models; reports get no hints for 5 s');
      return undefined;
    }
  };
  // Lookups that arrive while one runs wait for it and go together in the next statement: under
  // load one statement serves many reports (a statement costs Postgres and ingest far more than a
  // claim in it does). A statement that has not answered after STATEMENT_GIVE_UP_MS counts as
  // failed for the reports in it, so that a hung connection cannot hold the queue.
  const queued: { claims: readonly SimilarQuery[]; done: (r: SimilarClaim[][] | undefined) => void }[] = [];
  let running = false;
  const pump = async () => {
    running = true;
    try {
      while (queued.length > 0) {
        const batch: typeof queued = [];
        let n = 0;
        while (queued.length > 0 && (batch.length === 0 || n + queued[0]!.claims.length <= BATCH_CLAIMS)) {
          const q = queued.shift()!;
          batch.push(q);
          n += q.claims.length;
        }
        let timer: NodeJS.Timeout | undefined;
        const result = await Promise.race([
          lookup(batch.flatMap((b) => b.claims)),
          new Promise<undefined>((resolve) => {
            timer = setTimeout(() => resolve(undefined), STATEMENT_GIVE_UP_MS);
          }),
        ]).finally(() => clearTimeout(timer));
        let at = 0;
        for (const b of batch) {
          b.done(result?.slice(at, at + b.claims.length));
          at += b.claims.length;
        }
      }
    } finally {
      running = false;
    }
  };
  const coalesced = (claims: readonly SimilarQuery[]) =>
    new Promise<SimilarClaim[][] | undefined>((resolve) => {
      queued.push({ claims, done: resolve });
      if (!running) void pump();
    });

  return {
    async find(claims) {
      if (claims.length === 0) return [];
      if (Date.now() - failedAt < BACKOFF_MS) return undefined;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => {
          failedAt = Date.now();
          log.warn(
            `similar claims: the read models did not answer within ${SIMILAR_DEADLINE_MS} ms; reports get no hints for 5 s`,
          );
          resolve(undefined);
        }, SIMILAR_DEADLINE_MS);
      });
      try {
        return await Promise.race([coalesced(claims), late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
