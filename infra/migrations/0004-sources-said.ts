// Frozen in time: never import application code here, never edit after release; add a new file.
import { sql, type Kysely } from 'kysely';

/**
 * What sources say besides the figure (their confidence and likelihood words, the analyst's note),
 * whether a claim was ever corrected, what a correction replaced, the kind of a report, and the
 * names of topics.
 */
export async function up(db: Kysely<unknown>, schema: string): Promise<void> {
  const s = sql.id(schema);
  await sql`
    alter table ${s}.claim_versions
      add column confidence text,
      add column likelihood text,
      add column note text,
      add column corrected boolean not null default false;
    update ${s}.claim_versions cv set corrected = true
     where exists (select from ${s}.claim_revisions r
                    where r.claim_id = cv.claim_id and r.type = 'ClaimCorrected' and r.seq <= cv.seq_from);
    alter table ${s}.reports add column kind text;
    alter table ${s}.claim_revisions add column before jsonb;
    create table ${s}.topics (
      topic text not null,
      seq bigint not null,
      known_at timestamptz not null,
      label text not null,
      description text,
      primary key (topic, seq)
    );
  `.execute(db);
}
