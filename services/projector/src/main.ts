// The projector process: the only file here with side effects.
import { enableCompileCache } from 'node:module';
import { ensureHeapLimits } from '@claimtrail/shared/process';

// The compiled code of the modules imported below is kept on disk (see services/cli/bin/claimtrail.js).
enableCompileCache();

// Measured over 1,000,000 events (README, performance): V8's defaults let the process sit at
// 350-370 MB; 192 MB old space with 8 MB semi-spaces held it at 157-172 MB but made the collector
// run often enough to cost ~10 % of the catch-up's CPU. 32 MB semi-spaces (16 before) let most
// of a batch die young while five batches are in flight: projector CPU -7 %, peak ~215 MB. With
// the old space starting at 96 MB, V8 stops running a full collection every second scavenge
// (~35 MB live, the default limit just above it): CPU -10 %, catch-up +6 %, peak ~235 MB.
ensureHeapLimits(['--max-old-space-size=384', '--max-semi-space-size=32', '--initial-old-space-size=96']);
// Everything else is imported only now: a static import would load every module (2 s of a
// 5 s start on a slow machine) once before the re-exec and again after it.
const { createLogger, loadConfigOrExit, onShutdown, redactUrl, startOrExit } = await import('@claimtrail/shared');
const { createDb, getActiveSchema, metaSchemaOf } = await import('@claimtrail/shared/db');
const { connectNats } = await import('@claimtrail/shared/nats');
const { loadProjectorConfig, projectorSettingsOf } = await import('./config.ts');
const { createProjectorService } = await import('./projector.app.ts');
const config = loadConfigOrExit('projector', () => loadProjectorConfig(process.env));
const logger = createLogger('projector', config.LOG_LEVEL);
const { db } = createDb({ url: config.DATABASE_URL, max: 6, applicationName: 'claimtrail-projector' });
const schema =
  (await startOrExit(
    'projector',
    () => getActiveSchema(db, metaSchemaOf(config.CLAIMTRAIL_SCHEMA)),
    `cannot read the database at ${redactUrl(config.DATABASE_URL)} (set DATABASE_URL; \`claimtrail migrate\` creates it)`,
  )) ?? null;
if (schema === null) {
  process.stderr.write('claimtrail projector: the database is not migrated; run `claimtrail migrate` first\n');
  process.exit(2);
}
const nc = await startOrExit('projector', () => connectNats(config.NATS_URL, 'claimtrail-projector'));
const svc = await createProjectorService({
  nc,
  db,
  logger,
  settings: projectorSettingsOf(config, schema),
});
await svc.app.listen({ host: config.HOST, port: config.PROJECTOR_PORT });
svc.projector.start();
process.stdout.write(`${JSON.stringify({ msg: 'projector started', schema })}\n`);

onShutdown(logger, async () => {
  await svc.app.close();
  await svc.projector.stop();
  await nc.drain();
  await db.destroy();
});
