import { createLogger } from '@claimtrail/shared';
import type { TestEnv } from '@claimtrail/shared/testing';
import { createProjectorService } from './projector.app.ts';
import type { ProjectorDeps } from './projector.ts';

/**
 * A projector service on a test file's stream and database, started, silent; `settings` names
 * the schema and whatever else a test sets (batches of 100 and approx-digits@1 by default).
 */
export async function startTestProjector(
  env: TestEnv,
  settings: Partial<ProjectorDeps['settings']> & { schema: string },
) {
  const svc = await createProjectorService({
    nc: env.nc,
    db: env.db,
    logger: createLogger('test', 'silent'),
    settings: {
      stream: env.stream,
      subjectPrefix: env.subjectPrefix,
      batchSize: 100,
      rule: 'approx-digits@1',
      databaseUrl: env.databaseUrl,
      ...settings,
    },
  });
  svc.projector.start();
  return svc;
}
