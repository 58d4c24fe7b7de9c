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

/** The projector's settings from its configuration and the live schema (used by its main and by `claimtrail serve`). */
export function projectorSettingsOf(
  config: Pick<
    ProjectorConfig,
    | 'CLAIMTRAIL_STREAM'
    | 'CLAIMTRAIL_SUBJECT_PREFIX'
    | 'CLAIMTRAIL_BATCH_SIZE'
    | 'CLAIMTRAIL_APPROX_RULE'
    | 'DATABASE_URL'
  >,
  schema: string,
) {
  return {
    stream: config.CLAIMTRAIL_STREAM,
    subjectPrefix: config.CLAIMTRAIL_SUBJECT_PREFIX,
    schema,
    batchSize: config.CLAIMTRAIL_BATCH_SIZE,
    rule: config.CLAIMTRAIL_APPROX_RULE,
    databaseUrl: config.DATABASE_URL,
  };
}
