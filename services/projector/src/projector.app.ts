import { sql } from 'kysely';
import { Registry } from 'prom-client';
import type { Kysely } from 'kysely';
import type { NatsConnection } from '@nats-io/transport-node';
import { createDb, type Database } from '@claimtrail/shared/db';
import { createHttpApp } from '@claimtrail/shared/http';
import type { Logger } from '@claimtrail/shared';
import { projectorSettingsOf, type ProjectorConfig } from './config.ts';
import { createProjector, type ProjectorDeps } from './projector.ts';

/** The projector's Postgres pool (its process and `claimtrail serve`'s projector thread). */
export function createProjectorDb(url: string, logger?: Logger): Kysely<Database> {
  return createDb({
    url,
    max: 6,
    applicationName: 'claimtrail-projector',
    onIdleError: (err) => logger?.warn({ err }, 'an idle Postgres connection failed'),
  }).db;
}

/** The projector with its small HTTP face: /livez, /readyz, /metrics. */
export async function createProjectorService(deps: Omit<ProjectorDeps, 'registry'> & { ratePerMinute?: number }) {
  const registry = new Registry();
  const projector = createProjector({ ...deps, registry });
  const { app } = await createHttpApp({
    title: 'claimtrail projector',
    description: 'Folds the event stream into Postgres read models.',
    logger: deps.logger,
    registry,
    ratePerMinute: deps.ratePerMinute ?? 6000,
    readiness: async () => {
      const down: string[] = [];
      if (deps.nc.isClosed()) down.push('NATS connection closed');
      // What is down, not its error text (which can name hosts and users): the log has that.
      await sql`select 1`.execute(deps.db).catch(() => down.push('Postgres unreachable'));
      const stalled = projector.stalled();
      if (stalled) down.push(stalled);
      return down;
    },
  });
  return { app, projector, registry };
}

/**
 * The projector service listening on HOST:PROJECTOR_PORT and folding, as its process and
 * `claimtrail serve`'s projector thread run it; `stop` closes the HTTP side, then finishes the
 * batch in hand (the connections are the caller's).
 */
export async function startProjectorService(o: {
  nc: NatsConnection;
  db: Kysely<Database>;
  logger: Logger;
  config: Parameters<typeof projectorSettingsOf>[0] & Pick<ProjectorConfig, 'HOST' | 'PROJECTOR_PORT'>;
  schema: string;
}) {
  const svc = await createProjectorService({
    nc: o.nc,
    db: o.db,
    logger: o.logger,
    settings: projectorSettingsOf(o.config, o.schema),
  });
  await svc.app.listen({ host: o.config.HOST, port: o.config.PROJECTOR_PORT });
  svc.projector.start();
  return {
    port: (svc.app.server.address() as { port: number }).port,
    async stop() {
      await svc.app.close();
      await svc.projector.stop();
    },
  };
}
