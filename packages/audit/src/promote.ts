import { sql, type Kysely } from 'kysely';
import { metaSchemaOf, type Database } from '@claimtrail/shared/db';

/**
 * Switches the live read models to `schema` in one transaction. The query service re-reads the
 * pointer within 500 ms and the projector follows it, so nothing restarts.
 */
export async function promoteSchema(
  db: Kysely<Database>,
  baseSchema: string,
  schema: string,
): Promise<{ from: string | null; to: string; at: string }> {
  return db.transaction().execute(async (trx) => {
    const meta = metaSchemaOf(baseSchema);
    const prev = await trx
      .withSchema(meta)
      .selectFrom('active_schema')
      .select('schema_name')
      .forUpdate()
      .executeTakeFirst();
    const row = prev
      ? await trx
          .withSchema(meta)
          .updateTable('active_schema')
          .set({ schema_name: schema, promoted_at: sql`now()` })
          .returning(sql<string>`promoted_at::text`.as('at'))
          .executeTakeFirstOrThrow()
      : await trx
          .withSchema(meta)
          .insertInto('active_schema')
          .values({ schema_name: schema })
          .returning(sql<string>`promoted_at::text`.as('at'))
          .executeTakeFirstOrThrow();
    return { from: prev?.schema_name ?? null, to: schema, at: new Date(row.at).toISOString() };
  });
}
