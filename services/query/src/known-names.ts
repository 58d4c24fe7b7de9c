// Whether a topic and a metric exist in a read's view: a read of an unknown one is a 404, not an
// empty answer, so a mistyped name is not mistaken for a topic nobody has counted yet.
import { sql, type Kysely } from 'kysely';
import type { Database } from '@claimtrail/shared/db';
import { NotFoundError } from '@claimtrail/shared/errors';
import { visibleAt, type ReadContext } from './read-context.ts';

/**
 * Throws NotFoundError unless, at the context's instant, `topic` was defined (TopicDefined) or has
 * a claim (retracted ones count), and `metric`, when given, was defined or has a claim in any topic.
 * One statement; each side stops at its first row found, the cheap lookups first.
 */
export async function requireKnown(
  db: Kysely<Database>,
  ctx: ReadContext,
  names: { topic: string; metric?: string },
): Promise<void> {
  const t = (name: string) => sql.table(`${ctx.schema}.${name}`);
  const topicKnownBy = ctx.past ? sql`and d.known_at <= ${ctx.knownAt}::timestamptz` : sql``;
  const { metric } = names;
  const r = await sql<{ topic: boolean; metric: boolean }>`
    select (exists (select from ${t('topics')} d where d.topic = ${names.topic} ${topicKnownBy})
            or exists (select from ${t('claim_versions')} cv where cv.topic = ${names.topic} and ${visibleAt(ctx, 'cv')}))
             as topic,
           ${
             metric === undefined
               ? sql`true`
               : sql`(exists (select from ${t('claim_versions')} cv
                               where cv.topic = ${names.topic} and cv.metric = ${metric} and ${visibleAt(ctx, 'cv')})
                      or exists (select from ${t('metrics')} m where m.metric = ${metric} and ${visibleAt(ctx, 'm')})
                      or exists (select from ${t('claim_versions')} cv where cv.metric = ${metric} and ${visibleAt(ctx, 'cv')}))`
           } as metric`.execute(db);
  const known = r.rows[0]!;
  const when = ctx.past ? ` at ${ctx.knownAt}` : '';
  if (!known.topic)
    throw new NotFoundError(`topic ${names.topic} is unknown${when}: nobody defined it and no claim names it`);
  if (!known.metric)
    throw new NotFoundError(`metric ${metric} is unknown${when}: nobody defined it and no claim names it`);
}
