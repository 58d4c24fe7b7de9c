// Frozen in time: never import application code here, never edit after release; add a new file.
import { sql, type Kysely } from 'kysely';

/**
 * The projector's lease on its read-model schema: the epoch grows each time a projector takes the
 * lead, and every batch commit checks it under a share lock, so a projector that lost the lead
 * can no longer commit.
 */
export async function up(db: Kysely<unknown>, schema: string): Promise<void> {
  const s = sql.id(schema);
  await sql`
    create table ${s}.projector_lease (
      name text primary key,
      epoch bigint not null,
      holder text not null,
      taken_at timestamptz not null default now()
    );
  `.execute(db);
}
