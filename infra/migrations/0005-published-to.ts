// Frozen in time: never import application code here, never edit after release; add a new file.
import { sql, type Kysely } from 'kysely';

/**
 * The end of each report's `publishedAt` interval (exclusive; an instant's is the instant), which
 * `publishedBy` reads compare: a report counts once its whole interval lies at or before the end
 * of `publishedBy`'s. Filled for reports already folded from the text as stated.
 */
export async function up(db: Kysely<unknown>, schema: string): Promise<void> {
  const s = sql.id(schema);
  await sql`
    alter table ${s}.reports add column published_to timestamptz;
    update ${s}.reports set published_to = case
        when published_at ~ '^\\d{4}$' then ((published_from at time zone 'UTC') + interval '1 year') at time zone 'UTC'
        when published_at ~ '^\\d{4}-\\d{2}$' then ((published_from at time zone 'UTC') + interval '1 month') at time zone 'UTC'
        when published_at ~ '^\\d{4}-\\d{2}-\\d{2}$' then ((published_from at time zone 'UTC') + interval '1 day') at time zone 'UTC'
        else published_from
      end;
    alter table ${s}.reports alter column published_to set not null;
  `.execute(db);
}
