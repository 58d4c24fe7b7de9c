// The ingest process: the only file here with side effects.
import { createLogger, loadConfigOrExit, onShutdown, startOrExit } from '@claimtrail/shared';
import { connectNats, openBuckets, provisionStream } from '@claimtrail/shared/nats';
import { createIngestApp } from './ingest.app.ts';
import { ingestSettingsOf, loadIngestConfig } from './config.ts';
import { createKvTokenStore } from './token-store.ts';

const config = loadConfigOrExit('ingest', () => loadIngestConfig(process.env));
const logger = createLogger('ingest', config.LOG_LEVEL);
const nc = await startOrExit('ingest', () => connectNats(config.NATS_URL, 'claimtrail-ingest'));
const buckets = await startOrExit(
  'ingest',
  async () => {
    await provisionStream(nc, {
      stream: config.CLAIMTRAIL_STREAM,
      subjectPrefix: config.CLAIMTRAIL_SUBJECT_PREFIX,
      duplicateWindowS: config.CLAIMTRAIL_DUPLICATE_WINDOW_S,
    });
    return openBuckets(nc, config.CLAIMTRAIL_STREAM);
  },
  `cannot provision stream ${config.CLAIMTRAIL_STREAM}`,
);
const ingest = await createIngestApp({
  nc,
  idempotencyKv: buckets.idempotency,
  tokens: createKvTokenStore(buckets.tokens),
  logger,
  settings: ingestSettingsOf(config),
});
await ingest.app.listen({ host: config.HOST, port: config.INGEST_PORT });

onShutdown(logger, async () => {
  await ingest.close();
  await nc.drain();
});
