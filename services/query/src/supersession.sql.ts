// Which of a source's claims stands and which it supersedes: the one home of the rule. The history,
// a claim's answer and the summary all number a source's claims with this window and read the
// claim that stands from it, so the three can never disagree.
import { sql, type RawBuilder } from 'kysely';
import { visibleAt, type ReadContext } from './read-context.ts';

/**
 * The aggregation of `metric` in force at the context's instant; a metric nobody defined counts as
 * cumulative. `metric` is a value (one metric: Postgres evaluates it once) or a column reference.
 */
export function aggregationOf(ctx: ReadContext, metric: RawBuilder<unknown> | string): RawBuilder<string> {
  const m = typeof metric === 'string' ? sql`${metric}::text` : metric;
  return sql<string>`coalesce((select m.aggregation from ${sql.table(`${ctx.schema}.metrics`)} m
     where m.metric = ${m} and ${visibleAt(ctx, 'm')} limit 1), 'cumulative')`;
}

/**
 * How precise a figure is, most precise first: exact, approx, range with best, range, then the
 * open bounds (at_least, at_most).
 */
function precisionRank(a: RawBuilder<unknown>): RawBuilder<number> {
  return sql<number>`case ${a}.value->>'kind' when 'exact' then 0 when 'approx' then 1
    when 'range' then case when ${a}.best is null then 3 else 2 end else 4 end`;
}

/**
 * The window in which a claim of `alias` (a claim_versions row) competes, in standing order: its
 * first row stands (unless every claim in it is retracted) and supersedes the others.
 *
 * - The group: a source's claims of one topic and metric; for an `incremental` metric, only those
 *   for the same valid period (November's figure never supersedes October's).
 * - The order: not retracted first; then the newest `statedAt`; then the later end of the valid
 *   time (a cumulative total or a stock describes the instant its valid time ends); then, among
 *   figures stated the same day for the same time, the more precise (precisionRank), the narrower
 *   interval (an open bound is the widest), the earlier seq: whatever order they were recorded in.
 *
 * `aggregation` is the metric's (aggregationOf).
 */
export function standingWindow(alias: string, aggregation: RawBuilder<string>): RawBuilder<unknown> {
  const a = sql.ref(alias);
  const incremental = sql`${aggregation} = 'incremental'`;
  return sql`partition by ${a}.topic, ${a}.metric, ${a}.source_id,
      case when ${incremental} then ${a}.valid_from_at end, case when ${incremental} then ${a}.valid_to_at end
    order by ${a}.status = 'retracted', ${a}.stated_from desc, ${a}.valid_to_at desc, ${precisionRank(a)},
      ${a}.high - ${a}.low nulls last, ${a}.first_seq`;
}

/** The claim that stands in `alias`'s group (standingWindow): the claim's own id when it stands. */
export function standingClaim(alias: string, aggregation: RawBuilder<string>): RawBuilder<string> {
  return sql<string>`first_value(${sql.ref(alias)}.claim_id) over (${standingWindow(alias, aggregation)})`;
}

/** A claim's place in its group's standing order (standingWindow): 1 stands, 2 is the figure before it. */
export function standingRank(alias: string, aggregation: RawBuilder<string>): RawBuilder<number> {
  return sql<number>`row_number() over (${standingWindow(alias, aggregation)})`;
}
