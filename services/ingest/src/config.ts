import { readSettings } from '@claimtrail/shared/config';

/** Every environment variable the ingest service reads. */
export const settingNames = [
  'NATS_URL',
  'INGEST_PORT',
  'HOST',
  'CLAIMTRAIL_STREAM',
  'CLAIMTRAIL_SUBJECT_PREFIX',
  'CLAIMTRAIL_DUPLICATE_WINDOW_S',
  'CLAIMTRAIL_PUBLISH_TIMEOUT_MS',
  'CLAIMTRAIL_RATE_LIMIT_PER_MIN',
  'LOG_LEVEL',
] as const;

export type IngestConfig = ReturnType<typeof loadIngestConfig>;

export function loadIngestConfig(env: Record<string, string | undefined>) {
  return readSettings(settingNames, env);
}
