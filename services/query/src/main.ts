// The query process: the only file here with side effects.
import { createLogger, loadConfigOrExit, onShutdown } from '@claimtrail/shared';
import { createDb, metaSchemaOf } from '@claimtrail/shared/db';
import { loadQueryConfig, querySettingsOf } from './config.ts';
import { createPgTokenStore, createQueryApp } from './query.app.ts';

const config = loadConfigOrExit('query', () => loadQueryConfig(process.env));
const logger = createLogger('query', config.LOG_LEVEL);
const { db } = createDb({
  url: config.DATABASE_URL,
  max: 16,
  readOnly: true,
  statementTimeoutMs: config.CLAIMTRAIL_READ_TIMEOUT_MS,
  applicationName: 'claimtrail-query',
  onIdleError: (err) => logger.warn({ err }, 'an idle Postgres connection failed'),
});
const metaSchema = metaSchemaOf(config.CLAIMTRAIL_SCHEMA);
const query = await createQueryApp({
  db,
  logger,
  tokens: createPgTokenStore(db, metaSchema),
  settings: querySettingsOf(config),
});
await query.app.listen({ host: config.HOST, port: config.QUERY_PORT });

onShutdown(logger, async () => {
  await query.close();
  await db.destroy();
});
