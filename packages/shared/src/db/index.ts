export {
  createDb,
  poolOf,
  createPool,
  defaultReadSchemaOf,
  DEFAULT_READ_TIMEOUT_MS,
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
export {
  READ_MODEL_TABLES,
  READ_MODEL_TABLE_NAMES,
  recordsetColumns,
  writtenColumns,
  type ColumnSpec,
  type PgType,
  type ReadModelTable,
  type RowOf,
  type TableSpec,
  type WrittenColumn,
} from './read-model-tables.ts';
