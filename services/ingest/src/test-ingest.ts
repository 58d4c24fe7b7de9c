import { createLogger } from '@claimtrail/shared';
import type { TestEnv } from '@claimtrail/shared/testing';
import { openBuckets } from '@claimtrail/shared/nats';
import { createIngestApp, type IngestDeps } from './ingest.app.ts';
import { createKvTokenStore } from './token-store.ts';

/**
 * An ingest app on a test file's stream and buckets, silent, with tokens from its token bucket
 * (2 s publish timeout, no rate limit to speak of); `o` changes any of its settings and deps.
 */
export async function startTestIngest(
  env: Pick<TestEnv, 'nc' | 'stream' | 'subjectPrefix'>,
  o: Partial<Omit<IngestDeps, 'settings'>> & { settings?: Partial<IngestDeps['settings']> } = {},
) {
  const buckets = await openBuckets(env.nc, env.stream);
  const { settings, ...deps } = o;
  return createIngestApp({
    nc: env.nc,
    idempotencyKv: buckets.idempotency,
    identitiesKv: buckets.identities,
    tokens: createKvTokenStore(buckets.tokens),
    logger: createLogger('test', 'silent'),
    ...deps,
    settings: {
      stream: env.stream,
      subjectPrefix: env.subjectPrefix,
      publishTimeoutMs: 2000,
      ratePerMinute: 100_000,
      ...settings,
    },
  });
}
