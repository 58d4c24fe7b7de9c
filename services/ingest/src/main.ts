// The ingest process: the only file here with side effects.
import { createLogger } from '@claimtrail/shared';
import { ConfigError } from '@claimtrail/shared/errors';
import { connectNats, openBuckets, provisionStream } from '@claimtrail/shared/nats';
import { createIngestApp } from './ingest.app.ts';
import { loadIngestConfig } from './config.ts';
import { createKvTokenStore } from './token-store.ts';

let config;
try {
  config = loadIngestConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`claimtrail ingest: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
const logger = createLogger('ingest', config.LOG_LEVEL);
const nc = await connectNats(config.NATS_URL, 'claimtrail-ingest');
await provisionStream(nc, {
  stream: config.CLAIMTRAIL_STREAM,
  subjectPrefix: config.CLAIMTRAIL_SUBJECT_PREFIX,
  duplicateWindowS: config.CLAIMTRAIL_DUPLICATE_WINDOW_S,
});
const buckets = await openBuckets(nc, config.CLAIMTRAIL_STREAM);
const ingest = await createIngestApp({
  nc,
  idempotencyKv: buckets.idempotency,
  tokens: createKvTokenStore(buckets.tokens),
  logger,
  settings: {
    stream: config.CLAIMTRAIL_STREAM,
    subjectPrefix: config.CLAIMTRAIL_SUBJECT_PREFIX,
    publishTimeoutMs: config.CLAIMTRAIL_PUBLISH_TIMEOUT_MS,
    ratePerMinute: config.CLAIMTRAIL_RATE_LIMIT_PER_MIN,
  },
});
await ingest.app.listen({ host: config.HOST, port: config.INGEST_PORT });

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'draining');
  await ingest.close();
  await nc.drain();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
