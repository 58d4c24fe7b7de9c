// The ingest process: the only file here with side effects.
import { enableCompileCache } from 'node:module';
import { ensureHeapLimits } from '@claimtrail/shared/process';
import { httpHeapFlags } from './heap.ts';

// The compiled code of the modules imported below is kept on disk (see services/cli/bin/claimtrail.js).
enableCompileCache();

// The young generation's size and why: heap.ts. Workers are forked with this process's flags.
ensureHeapLimits(httpHeapFlags);
// Everything else is imported only now: a static import would load every module once before the
// re-exec and again after it.
const { default: cluster } = await import('node:cluster');
const { createLogger, loadConfigOrExit, onShutdown, startOrExit } = await import('@claimtrail/shared');
const { ingestSettingsOf, loadIngestConfig } = await import('./config.ts');
const { clusterMetrics, ingestProcessCount, runIngestPrimary } = await import('./cluster.ts');

const config = loadConfigOrExit('ingest', () => loadIngestConfig(process.env));
const processes = ingestProcessCount(config.INGEST_PROCESSES);
const logger = cluster.isWorker
  ? createLogger('ingest', config.LOG_LEVEL).child({ process: cluster.worker?.id })
  : createLogger('ingest', config.LOG_LEVEL);

if (cluster.isPrimary && processes > 1) {
  // INGEST_PROCESSES (cluster.ts): this process only starts, watches and stops the workers.
  await runIngestPrimary({ processes, logger });
} else {
  const { checkStream, coalesceWrites, connectNats, NotProvisionedError, openProvisionedBuckets } =
    await import('@claimtrail/shared/nats');
  const { createIngestApp } = await import('./ingest.app.ts');
  const { createKvTokenStore } = await import('./token-store.ts');

  const nc = await startOrExit('ingest', () => connectNats(config.NATS_URL, 'claimtrail-ingest'));
  coalesceWrites(nc, logger);
  // Only `claimtrail migrate` creates the stream and buckets: ingest checks them, says what
  // differs from its settings, and refuses to start without them.
  const buckets = await startOrExit(
    'ingest',
    async () => {
      try {
        const differences = await checkStream(nc, {
          stream: config.CLAIMTRAIL_STREAM,
          subjectPrefix: config.CLAIMTRAIL_SUBJECT_PREFIX,
          duplicateWindowS: config.CLAIMTRAIL_DUPLICATE_WINDOW_S,
          replicas: config.CLAIMTRAIL_REPLICAS,
        });
        const opened = await openProvisionedBuckets(nc, config.CLAIMTRAIL_STREAM, {
          replicas: config.CLAIMTRAIL_REPLICAS,
        });
        for (const d of [...differences, ...opened.differences])
          logger.warn({ of: d.of, setting: d.setting, found: d.found, wanted: d.wanted }, d.message);
        return opened;
      } catch (err) {
        if (!(err instanceof NotProvisionedError)) throw err;
        process.stderr.write(`claimtrail ingest: ${err.message}\n`);
        process.exit(2);
      }
    },
    `cannot check stream ${config.CLAIMTRAIL_STREAM}`,
  );
  // In a worker, GET /metrics answers the sum over every worker (cluster.ts).
  const { Registry } = await import('prom-client');
  const registry = new Registry();
  // The read models give hints of similar claims; ingest needs them for nothing else, and answers
  // without hints (and says so) while they do not answer.
  const { createDb } = await import('@claimtrail/shared/db');
  const { createSimilarFinder } = await import('./similar-claims.ts');
  const readModels = createDb({
    url: config.DATABASE_URL,
    max: 4,
    readOnly: true,
    statementTimeoutMs: 500,
    applicationName: 'claimtrail-ingest',
  });
  const ingest = await createIngestApp({
    nc,
    idempotencyKv: buckets.idempotency,
    identitiesKv: buckets.identities,
    tokens: createKvTokenStore(buckets.tokens),
    similar: createSimilarFinder(readModels.db, config.CLAIMTRAIL_SCHEMA, logger),
    logger,
    settings: ingestSettingsOf(config),
    registry,
    ...(cluster.isWorker ? { metricsText: clusterMetrics(registry) } : {}),
  });
  await ingest.app.listen({ host: config.HOST, port: config.INGEST_PORT });

  onShutdown(logger, async () => {
    await ingest.close();
    await readModels.db.destroy();
    await nc.drain();
  });
}
