import { sql, type Kysely } from 'kysely';
import { getActiveSchema, type Database } from '@claimtrail/shared/db';
import type { Logger } from '@claimtrail/shared';

/**
 * The meta schema whose `active_schema` pointer to follow: `configured` when given (null: never
 * follow), else the one whose pointer names `schema`, if any.
 */
export async function metaSchemaToFollow(
  db: Kysely<Database>,
  schema: string,
  configured: string | null | undefined,
): Promise<string | null> {
  if (configured !== undefined) return configured;
  const metas = await sql<{ table_schema: string }>`
      select table_schema from information_schema.tables where table_name = 'active_schema' and table_type = 'BASE TABLE'`.execute(
    db,
  );
  for (const m of metas.rows)
    if ((await getActiveSchema(db, m.table_schema).catch(() => undefined)) === schema) return m.table_schema;
  return null;
}

export interface PromotionFollowerOptions {
  db: Kysely<Database>;
  metaSchema: string;
  logger: Logger;
  /** How often the pointer is read. */
  everyMs: number;
  /** The schema projected into now. */
  current: () => string;
  stopping: () => boolean;
  /** The pointer names another schema than `current()`: a replay into it was promoted. */
  promoted: (to: string) => Promise<void>;
}

/**
 * Reads the `active_schema` pointer every `everyMs` and reports a promotion (the pointer moved
 * off the schema projected into), so that the projector stops on the old schema and continues on
 * the new one from that schema's checkpoint. A failed read is logged and tried again.
 */
export function followPromotion(o: PromotionFollowerOptions) {
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      const next = await getActiveSchema(o.db, o.metaSchema);
      if (next !== undefined && next !== o.current()) await o.promoted(next);
    } catch (err) {
      o.logger.warn({ err }, 'cannot read the active schema pointer');
    }
    if (!o.stopping()) timer = setTimeout(() => void tick(), o.everyMs);
  };
  timer = setTimeout(() => void tick(), o.everyMs);
  return {
    stop(): void {
      clearTimeout(timer);
    },
  };
}
