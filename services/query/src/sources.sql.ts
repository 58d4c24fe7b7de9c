// The rows behind GET /v1/sources and GET /v1/sources/{sourceId}: sources with the counts of their
// claims, the (topic, metric) series a source has claims in, the figures its revisions compare,
// and the topics where its figures meet composite checks. The record's arithmetic is in
// source-record.ts (pure, unit-tested); a source's points come from the history (read-models.ts).
import { sql, type Kysely } from 'kysely';
import type { Database } from '@claimtrail/shared/db';
import type { SourceEntry } from '@claimtrail/shared/contract';
import { claimCounts, statedWithin, visibleAt, type ReadContext } from './read-context.ts';
import { aggregationOf } from './supersession.sql.ts';
import type { StatedFigure } from './source-record.ts';

const ms = (v: unknown): number => (v instanceof Date ? v : new Date(String(v))).getTime();

/**
 * Sources with counts over every claim attributed to them at the context's instant (retracted
 * ones included, and counted apart). A source is listed when it is registered or has a claim.
 * `which`: one page in byte order of id (collate "C", as the cursor resumes; one more than `limit`
 * is read to know whether another page follows), or the one source `id`.
 */
export async function loadSources(
  db: Kysely<Database>,
  ctx: ReadContext,
  which: { after?: string; limit: number } | { id: string },
): Promise<SourceEntry[]> {
  const t = (name: string) => sql.table(`${ctx.schema}.${name}`);
  const pick = (col: string) =>
    'id' in which
      ? sql`${sql.ref(col)} = ${which.id}`
      : which.after === undefined
        ? sql`true`
        : sql`${sql.ref(col)} collate "C" > ${which.after}`;
  const limit = 'id' in which ? 1 : which.limit + 1;
  const rows = await sql<{
    id: string;
    name: string | null;
    kind: string | null;
    country: string | null;
    claims: number | null;
    topics: number | null;
    corrected: number | null;
    retracted: number | null;
    first_stated_at: string | null;
    last_stated_at: string | null;
  }>`
    with shown as (
      select x.id from (
        (select s.source_id collate "C" as id from ${t('sources')} s
          where ${visibleAt(ctx, 's')} and ${pick('s.source_id')} order by 1 limit ${limit})
        union
        (select distinct c.source_id collate "C" from ${t('claim_versions')} c
          where ${visibleAt(ctx, 'c')} and ${pick('c.source_id')} and ${claimCounts(ctx, 'c')}
            and ${statedWithin(ctx, 'c')} order by 1 limit ${limit})
      ) x order by 1 limit ${limit}
    ),
    figures as (
      select cv.source_id, count(*)::int as claims, count(distinct cv.topic)::int as topics,
             count(*) filter (where cv.corrected)::int as corrected,
             count(*) filter (where cv.status = 'retracted')::int as retracted,
             (array_agg(cv.stated_at order by cv.stated_from, cv.first_seq))[1] as first_stated_at,
             (array_agg(cv.stated_at order by cv.stated_from desc, cv.first_seq desc))[1] as last_stated_at
        from ${t('claim_versions')} cv
       where ${visibleAt(ctx, 'cv')} and cv.source_id collate "C" in (select id from shown)
         and ${claimCounts(ctx, 'cv')} and ${statedWithin(ctx, 'cv')}
       group by cv.source_id
    )
    select sh.id, s.name, s.kind, s.country, f.claims, f.topics, f.corrected, f.retracted,
           f.first_stated_at, f.last_stated_at
      from shown sh
      left join ${t('sources')} s on s.source_id = sh.id and ${visibleAt(ctx, 's')}
      left join figures f on f.source_id = sh.id
     order by sh.id`.execute(db);
  return rows.rows.map((r) => ({
    id: r.id,
    name: r.name,
    kind: r.kind,
    country: r.country,
    claims: r.claims ?? 0,
    topics: r.topics ?? 0,
    firstStatedAt: r.first_stated_at,
    lastStatedAt: r.last_stated_at,
    corrected: r.corrected ?? 0,
    retracted: r.retracted ?? 0,
  }));
}

/**
 * The (topic, metric) series a source has claims in, in byte order (the order of its points'
 * pages), from `after` on (that series included).
 */
export async function loadSourceSeries(
  db: Kysely<Database>,
  ctx: ReadContext,
  q: { sourceId: string; includeRetracted: boolean; after?: { topic: string; metric: string }; limit: number },
): Promise<{ topic: string; metric: string }[]> {
  const rows = await sql<{ topic: string; metric: string }>`
    select distinct cv.topic collate "C" as topic, cv.metric collate "C" as metric
      from ${sql.table(`${ctx.schema}.claim_versions`)} cv
     where cv.source_id = ${q.sourceId} and ${visibleAt(ctx, 'cv')}
       and ${claimCounts(ctx, 'cv')} and ${statedWithin(ctx, 'cv')}
       ${q.includeRetracted ? sql`` : sql`and cv.status <> 'retracted'`}
       ${q.after ? sql`and (cv.topic collate "C", cv.metric collate "C") >= (${q.after.topic}, ${q.after.metric})` : sql``}
     order by 1, 2
     limit ${q.limit}`.execute(db);
  return rows.rows;
}

/**
 * The figures a source's revisions compare: its claims not retracted whose centre it stated
 * (`best` is set: exact, approx, range with best), with their metric's aggregation, in statedAt
 * order (then seq) within each topic and metric.
 */
export async function loadStatedFigures(
  db: Kysely<Database>,
  ctx: ReadContext,
  sourceId: string,
): Promise<StatedFigure[]> {
  const rows = await sql<{
    topic: string;
    metric: string;
    aggregation: string;
    claim_id: string;
    stated_at: string;
    stated_from: Date;
    valid_from_at: Date;
    valid_to_at: Date;
    best: string;
    first_seq: number;
  }>`
    select cv.topic, cv.metric, ag.aggregation, cv.claim_id, cv.stated_at, cv.stated_from, cv.valid_from_at,
           cv.valid_to_at, cv.best, cv.first_seq
      from ${sql.table(`${ctx.schema}.claim_versions`)} cv
     cross join lateral (select ${aggregationOf(ctx, sql`cv.metric`)} as aggregation offset 0) ag
     where cv.source_id = ${sourceId} and ${visibleAt(ctx, 'cv')} and cv.status <> 'retracted' and cv.best is not null
       and ${claimCounts(ctx, 'cv')} and ${statedWithin(ctx, 'cv')}
     order by cv.topic collate "C", cv.metric collate "C", cv.stated_from, cv.first_seq`.execute(db);
  return rows.rows.map((r) => ({
    topic: r.topic,
    metric: r.metric,
    aggregation: r.aggregation,
    claimId: r.claim_id,
    statedAt: r.stated_at,
    statedFrom: ms(r.stated_from),
    validFromAt: ms(r.valid_from_at),
    validToAt: ms(r.valid_to_at),
    best: Number(r.best),
    seq: Number(r.first_seq),
  }));
}

/**
 * The topics where a source has a claim not retracted on a composite metric or on a part of one,
 * as defined at the context's instant: the only topics where its figures can meet checks.
 */
export async function loadCheckedTopics(db: Kysely<Database>, ctx: ReadContext, sourceId: string): Promise<string[]> {
  const t = (name: string) => sql.table(`${ctx.schema}.${name}`);
  const rows = await sql<{ topic: string }>`
    with checked as (
      select m.metric from ${t('metrics')} m where ${visibleAt(ctx, 'm')} and m.composed_of is not null
      union
      select unnest(m.composed_of) from ${t('metrics')} m where ${visibleAt(ctx, 'm')} and m.composed_of is not null
    )
    select distinct cv.topic collate "C" as topic
      from ${t('claim_versions')} cv
     where cv.source_id = ${sourceId} and ${visibleAt(ctx, 'cv')} and cv.status <> 'retracted'
       and cv.metric in (select metric from checked) and ${claimCounts(ctx, 'cv')} and ${statedWithin(ctx, 'cv')}
     order by 1`.execute(db);
  return rows.rows.map((r) => r.topic);
}
