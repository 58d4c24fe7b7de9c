import { readSettings } from '@claimtrail/shared/config';

/** Every environment variable the CLI reads (serve reads all of the services' too). */
export const settingNames = [
  'DATABASE_URL',
  'NATS_URL',
  'INGEST_PORT',
  'QUERY_PORT',
  'PROJECTOR_PORT',
  'HOST',
  'CLAIMTRAIL_STREAM',
  'CLAIMTRAIL_SUBJECT_PREFIX',
  'CLAIMTRAIL_SCHEMA',
  'CLAIMTRAIL_REQUIRE_READ_TOKEN',
  'CLAIMTRAIL_DUPLICATE_WINDOW_S',
  'CLAIMTRAIL_REPLICAS',
  'CLAIMTRAIL_PUBLISH_TIMEOUT_MS',
  'CLAIMTRAIL_RATE_LIMIT_PER_MIN',
  'CLAIMTRAIL_BATCH_SIZE',
  'CLAIMTRAIL_APPROX_RULE',
  'CLAIMTRAIL_ALIGN_TOLERANCE_DAYS',
  'CLAIMTRAIL_READ_TIMEOUT_MS',
  'CLAIMTRAIL_TOKEN',
  'CLAIMTRAIL_INGEST_URL',
  'CLAIMTRAIL_QUERY_URL',
  'LOG_LEVEL',
] as const;

export type CliConfig = ReturnType<typeof loadCliConfig>;

export function loadCliConfig(env: Record<string, string | undefined>) {
  return readSettings(settingNames, env);
}
