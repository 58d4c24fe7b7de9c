// Frozen in time: never import application code here, never edit after release; add a new file.
import { sql, type Kysely } from 'kysely';

/**
 * The normalisation rule a read-model schema is folded with, stored with it so that whoever folds
 * into the schema (the live projector after a promotion, a resumed replay) uses the same rule.
 * A schema folded before the rule was stored was folded with approx-5pct@1, the default then.
 */
export async function up(db: Kysely<unknown>, schema: string): Promise<void> {
  const s = sql.id(schema);
  await sql`
    create table ${s}.fold_rule (
      id boolean primary key default true check (id),
      rule text not null,
      set_at timestamptz not null default now()
    );
    insert into ${s}.fold_rule (rule) select 'approx-5pct@1' where exists (select from ${s}.checkpoint);
  `.execute(db);
}
