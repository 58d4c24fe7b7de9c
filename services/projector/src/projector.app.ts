import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { createHttpApp } from '@claimtrail/shared/http';
import { createProjector, type ProjectorDeps } from './projector.ts';

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
      await sql`select 1`.execute(deps.db).catch((err: unknown) => down.push(`Postgres: ${(err as Error).message}`));
      return down;
    },
  });
  return { app, projector, registry };
}
