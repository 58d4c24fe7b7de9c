// The query process: the only file here with side effects.
import { createLogger } from '@claimtrail/shared';
import { ConfigError } from '@claimtrail/shared/errors';
import { createDb, metaSchemaOf } from '@claimtrail/shared/db';
import { loadQueryConfig } from './config.ts';
import { createPgTokenStore, createQueryApp } from './query.app.ts';

let config;
try {
  config = loadQueryConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`claimtrail query: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
const logger = createLogger('query', config.LOG_LEVEL);
const { db } = createDb({ url: config.DATABASE_URL, max: 16, readOnly: true, applicationName: 'claimtrail-query' });
const metaSchema = metaSchemaOf(config.CLAIMTRAIL_SCHEMA);
const query = await createQueryApp({
  db,
  logger,
  tokens: createPgTokenStore(db, metaSchema),
  settings: {
    metaSchema,
    requireReadToken: config.CLAIMTRAIL_REQUIRE_READ_TOKEN,
    ratePerMinute: config.CLAIMTRAIL_RATE_LIMIT_PER_MIN,
    alignToleranceDays: config.CLAIMTRAIL_ALIGN_TOLERANCE_DAYS,
  },
});
await query.app.listen({ host: config.HOST, port: config.QUERY_PORT });

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'draining');
  await query.close();
  await db.destroy();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
