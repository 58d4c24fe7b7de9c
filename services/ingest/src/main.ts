// The ingest process: the only file here with side effects.
import { enableCompileCache } from 'node:module';
import { ensureHeapLimits } from '@claimtrail/shared/process';
import { httpHeapFlags } from './heap.ts';

// The compiled code of the modules imported below is kept on disk (see services/cli/bin/claimtrail.js).
enableCompileCache();

// The young generation's size and why: heap.ts.
ensureHeapLimits(httpHeapFlags);
// Everything else is imported only now: a static import would load every module once before the
// re-exec and again after it.
const { createLogger, loadConfigOrExit, onShutdown, startOrExit } = await import('@claimtrail/shared');
const { coalesceWrites, connectNats, openBuckets, provisionStream } = await import('@claimtrail/shared/nats');
const { createIngestApp } = await import('./ingest.app.ts');
const { ingestSettingsOf, loadIngestConfig } = await import('./config.ts');
const { createKvTokenStore } = await import('./token-store.ts');

const config = loadConfigOrExit('ingest', () => loadIngestConfig(process.env));
const logger = createLogger('ingest', config.LOG_LEVEL);
const nc = await startOrExit('ingest', () => connectNats(config.NATS_URL, 'claimtrail-ingest'));
coalesceWrites(nc, logger);
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
