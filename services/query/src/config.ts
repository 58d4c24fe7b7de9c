import { readSettings } from '@claimtrail/shared/config';

/** Every environment variable the query service reads. */
export const settingNames = [
  'DATABASE_URL',
  'QUERY_PORT',
  'HOST',
  'CLAIMTRAIL_SCHEMA',
  'CLAIMTRAIL_REQUIRE_READ_TOKEN',
  'CLAIMTRAIL_RATE_LIMIT_PER_MIN',
  'CLAIMTRAIL_ALIGN_TOLERANCE_DAYS',
  'LOG_LEVEL',
] as const;

export type QueryConfig = ReturnType<typeof loadQueryConfig>;

export function loadQueryConfig(env: Record<string, string | undefined>) {
  return readSettings(settingNames, env);
}
