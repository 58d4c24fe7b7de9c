import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { DEFAULT_RULE, normalisationRules } from '../events/values.ts';

/** Boolean-ish environment flag: `1|true|yes|on` and `0|false|no|off`. */
export const envFlag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

export const port = z.coerce.number().int().min(0).max(65535);

const slugish = /^[A-Za-z0-9_-]{1,64}$/;

/** Every setting that any claimtrail process reads, with defaults. One schema: one source of truth. */
export const settingsSchemas = {
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/claimtrail'),
  NATS_URL: z
    .string()
    .regex(
      /^(nats|tls|ws|wss):\/\/[^,\s]+(,(nats|tls|ws|wss):\/\/[^,\s]+)*$/,
      'must be nats://host:port (comma-separated for several)',
    )
    .default('nats://127.0.0.1:4222'),
  INGEST_PORT: port.default(8081),
  /** Ingest processes behind INGEST_PORT (node:cluster): `auto` is one a core, at most 4. */
  INGEST_PROCESSES: z
    .union([z.literal('auto'), z.coerce.number().int().min(1).max(64)], {
      error: 'must be auto or a whole number 1..64',
    })
    .default('auto'),
  QUERY_PORT: port.default(8080),
  PROJECTOR_PORT: port.default(8082),
  HOST: z.string().min(1).default('127.0.0.1'),
  CLAIMTRAIL_STREAM: z.string().regex(slugish, 'letters, digits, _ and - only (1..64)').default('CLAIMTRAIL'),
  CLAIMTRAIL_SUBJECT_PREFIX: z
    .string()
    .regex(/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/, 'dot-separated tokens of a-z 0-9 _ -')
    .default('ct'),
  CLAIMTRAIL_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case Postgres identifier')
    .default('claimtrail'),
  CLAIMTRAIL_REQUIRE_READ_TOKEN: envFlag.default(false),
  CLAIMTRAIL_DUPLICATE_WINDOW_S: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(120),
  /**
   * Servers that keep a copy of the event stream and the ingest buckets when they are created:
   * 1 on a single server, 3 on a 3-node cluster. `claimtrail migrate --replicas N` changes
   * existing ones.
   */
  CLAIMTRAIL_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  CLAIMTRAIL_PUBLISH_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(5000),
  CLAIMTRAIL_RATE_LIMIT_PER_MIN: z.coerce.number().int().min(1).default(6000),
  /**
   * The longest a statement of the query service may run (Postgres statement_timeout on its
   * connections); a read that takes longer is cancelled and answered 503 with Retry-After.
   */
  CLAIMTRAIL_READ_TIMEOUT_MS: z.coerce.number().int().min(10).max(600_000).default(5000),
  CLAIMTRAIL_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(1000),
  /**
   * The normalisation rule of approximate figures for read-model schemas folded from now on; a
   * schema keeps the rule it was first folded with (stored with it).
   */
  CLAIMTRAIL_APPROX_RULE: z
    .string()
    .refine((r) => Object.hasOwn(normalisationRules, r), {
      error: `must be one of ${Object.keys(normalisationRules).join(', ')}`,
    })
    .default(DEFAULT_RULE),
  /** The summary pairs claims whose valid times lie at most this many days apart; further apart, only counted (`unaligned`). */
  CLAIMTRAIL_ALIGN_TOLERANCE_DAYS: z.coerce.number().min(0).max(3660).default(31),
  CLAIMTRAIL_TOKEN: z
    .string()
    .regex(/^ct_[A-Za-z0-9_-]{20,}$/, 'must be a token printed by `claimtrail token create`')
    .optional(),
  CLAIMTRAIL_INGEST_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8081'),
  CLAIMTRAIL_QUERY_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
} as const;

export type SettingName = keyof typeof settingsSchemas;

/**
 * Reads and validates the named settings from an environment. A bad value throws a ConfigError
 * whose message names the variable and what it must be.
 */
export function readSettings<const K extends SettingName>(
  names: readonly K[],
  env: Record<string, string | undefined>,
): { [P in K]: z.output<(typeof settingsSchemas)[P]> } {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const name of names) {
    const raw = env[name];
    const result = settingsSchemas[name].safeParse(raw === '' ? undefined : raw);
    if (result.success) out[name] = result.data;
    else problems.push(`${name}=${JSON.stringify(raw)}: ${result.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (problems.length > 0) throw new ConfigError(`invalid settings: ${problems.join(' | ')}`);
  return out as { [P in K]: z.output<(typeof settingsSchemas)[P]> };
}
