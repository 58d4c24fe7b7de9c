import { readSettings } from '@claimtrail/shared/config';

/** Every environment variable the projector reads. */
export const settingNames = [
  'NATS_URL',
  'DATABASE_URL',
  'PROJECTOR_PORT',
  'HOST',
  'CLAIMTRAIL_STREAM',
  'CLAIMTRAIL_SUBJECT_PREFIX',
  'CLAIMTRAIL_DUPLICATE_WINDOW_S',
  'CLAIMTRAIL_SCHEMA',
  'CLAIMTRAIL_BATCH_SIZE',
  'CLAIMTRAIL_APPROX_RULE',
  'LOG_LEVEL',
] as const;

export type ProjectorConfig = ReturnType<typeof loadProjectorConfig>;

export function loadProjectorConfig(env: Record<string, string | undefined>) {
  return readSettings(settingNames, env);
}
