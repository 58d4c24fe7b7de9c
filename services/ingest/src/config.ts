import { readSettings } from '@claimtrail/shared/config';

/** Every environment variable the ingest service reads. */
export const settingNames = [
  'NATS_URL',
  'DATABASE_URL',
  'CLAIMTRAIL_SCHEMA',
  'INGEST_PORT',
  'INGEST_PROCESSES',
  'HOST',
  'CLAIMTRAIL_STREAM',
  'CLAIMTRAIL_SUBJECT_PREFIX',
  'CLAIMTRAIL_DUPLICATE_WINDOW_S',
  'CLAIMTRAIL_REPLICAS',
  'CLAIMTRAIL_PUBLISH_TIMEOUT_MS',
  'CLAIMTRAIL_RATE_LIMIT_PER_MIN',
  'LOG_LEVEL',
] as const;

export type IngestConfig = ReturnType<typeof loadIngestConfig>;

export function loadIngestConfig(env: Record<string, string | undefined>) {
  return readSettings(settingNames, env);
}

/** The ingest app's settings from its configuration (used by its main and by `claimtrail serve`). */
export function ingestSettingsOf(
  config: Pick<
    IngestConfig,
    | 'CLAIMTRAIL_STREAM'
    | 'CLAIMTRAIL_SUBJECT_PREFIX'
    | 'CLAIMTRAIL_PUBLISH_TIMEOUT_MS'
    | 'CLAIMTRAIL_RATE_LIMIT_PER_MIN'
  >,
) {
  return {
    stream: config.CLAIMTRAIL_STREAM,
    subjectPrefix: config.CLAIMTRAIL_SUBJECT_PREFIX,
    publishTimeoutMs: config.CLAIMTRAIL_PUBLISH_TIMEOUT_MS,
    ratePerMinute: config.CLAIMTRAIL_RATE_LIMIT_PER_MIN,
  };
}
