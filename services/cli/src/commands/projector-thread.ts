// The projector of `claimtrail serve`, on a worker thread of its own (see serve.ts): folding a
// batch then never holds up the HTTP requests that ingest and the query service answer on the
// main thread. It has its own NATS connection, Postgres pool and event loop, as the projector
// process of a deployment has.
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '@claimtrail/shared';
import { connectNats } from '@claimtrail/shared/nats';
import { createProjectorDb, startProjectorService } from '@claimtrail/projector';
import type { CliConfig } from '../config.ts';

/** What serve.ts sends the thread. */
export interface ProjectorThreadData {
  config: CliConfig;
  schema: string;
}

/** What the thread tells serve.ts. */
export type ProjectorThreadMessage =
  { type: 'listening'; port: number } | { type: 'failed'; message: string } | { type: 'stopped' };

const port = parentPort!;
const { config, schema } = workerData as ProjectorThreadData;
const say = (m: ProjectorThreadMessage) => port.postMessage(m);

try {
  const logger = createLogger('claimtrail', config.LOG_LEVEL).child({ service: 'projector' });
  const db = createProjectorDb(config.DATABASE_URL);
  const nc = await connectNats(config.NATS_URL, 'claimtrail-serve-projector');
  const svc = await startProjectorService({ nc, db, logger, config, schema });
  port.on('message', (m: unknown) => {
    if (m !== 'stop') return;
    void (async () => {
      await svc.stop();
      await nc.drain();
      await db.destroy();
      say({ type: 'stopped' });
      port.close();
    })();
  });
  say({ type: 'listening', port: svc.port });
} catch (err) {
  say({ type: 'failed', message: (err as Error).message });
  port.close();
}
