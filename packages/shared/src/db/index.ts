export {
  createDb,
  poolOf,
  createPool,
  defaultReadSchemaOf,
  ensureDatabase,
  getActiveSchema,
  metaSchemaOf,
  migrateAll,
  migrateReadModel,
  quoteIdent,
  READ_SESSION_OPTIONS,
  type CreateDbOptions,
  type MigrateOutcome,
} from './database.ts';
export type { Database, MetaTables, ReadModelTables } from './types.ts';
