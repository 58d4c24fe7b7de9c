// The projector process: the only file here with side effects.
import { enableCompileCache } from 'node:module';
import { ensureHeapLimits } from '@claimtrail/shared/process';
import { projectorHeapFlags } from './heap.ts';

// The compiled code of the modules imported below is kept on disk (see services/cli/bin/claimtrail.js).
enableCompileCache();

// The heap limits and why: heap.ts.
ensureHeapLimits(projectorHeapFlags);
// Everything else is imported only now: a static import would load every module (2 s of a
// 5 s start on a slow machine) once before the re-exec and again after it.
const { createLogger, loadConfigOrExit, onShutdown, redactUrl, startOrExit } = await import('@claimtrail/shared');
const { getActiveSchema, metaSchemaOf } = await import('@claimtrail/shared/db');
const { connectNats } = await import('@claimtrail/shared/nats');
const { loadProjectorConfig } = await import('./config.ts');
const { createProjectorDb, startProjectorService } = await import('./projector.app.ts');
const config = loadConfigOrExit('projector', () => loadProjectorConfig(process.env));
const logger = createLogger('projector', config.LOG_LEVEL);
const db = createProjectorDb(config.DATABASE_URL, logger);
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
const svc = await startProjectorService({ nc, db, logger, config, schema });
process.stdout.write(`${JSON.stringify({ msg: 'projector started', schema })}\n`);

onShutdown(logger, async () => {
  await svc.stop();
  await nc.drain();
  await db.destroy();
});
