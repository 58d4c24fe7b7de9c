// Frozen in time: never import application code here, never edit after release; add a new file.
import { sql, type Kysely } from 'kysely';

/** Shared, not per read-model schema: tokens for the query service and the active schema pointer. */
export async function up(db: Kysely<unknown>, schema: string): Promise<void> {
  const s = sql.id(schema);
  await sql`
    create table ${s}.api_tokens (
      token_hash text primary key,
      principal text not null,
      scopes text[] not null,
      created_at timestamptz not null default now(),
      revoked_at timestamptz
    );
    create table ${s}.active_schema (
      id boolean primary key default true check (id),
      schema_name text not null,
      promoted_at timestamptz not null default now()
    );
  `.execute(db);
}
