import { readSettings } from '@claimtrail/shared/config';
import { metaSchemaOf } from '@claimtrail/shared/db';

/** Every environment variable the query service reads. */
export const settingNames = [
  'DATABASE_URL',
  'QUERY_PORT',
  'HOST',
  'CLAIMTRAIL_SCHEMA',
  'CLAIMTRAIL_REQUIRE_READ_TOKEN',
  'CLAIMTRAIL_RATE_LIMIT_PER_MIN',
  'CLAIMTRAIL_ALIGN_TOLERANCE_DAYS',
  'CLAIMTRAIL_READ_TIMEOUT_MS',
  'LOG_LEVEL',
] as const;

export type QueryConfig = ReturnType<typeof loadQueryConfig>;

export function loadQueryConfig(env: Record<string, string | undefined>) {
  return readSettings(settingNames, env);
}

/** The query app's settings from its configuration (used by its main and by `claimtrail serve`). */
export function querySettingsOf(
  config: Pick<
    QueryConfig,
    | 'CLAIMTRAIL_SCHEMA'
    | 'CLAIMTRAIL_REQUIRE_READ_TOKEN'
    | 'CLAIMTRAIL_RATE_LIMIT_PER_MIN'
    | 'CLAIMTRAIL_ALIGN_TOLERANCE_DAYS'
    | 'CLAIMTRAIL_READ_TIMEOUT_MS'
  >,
) {
  return {
    metaSchema: metaSchemaOf(config.CLAIMTRAIL_SCHEMA),
    requireReadToken: config.CLAIMTRAIL_REQUIRE_READ_TOKEN,
    ratePerMinute: config.CLAIMTRAIL_RATE_LIMIT_PER_MIN,
    alignToleranceDays: config.CLAIMTRAIL_ALIGN_TOLERANCE_DAYS,
    readTimeoutMs: config.CLAIMTRAIL_READ_TIMEOUT_MS,
  };
}
