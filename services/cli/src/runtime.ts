import type { NatsConnection } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import {
  createDb,
  ensureDatabase,
  metaSchemaOf,
  migrateAll,
  type Database,
  type MigrateOutcome,
} from '@claimtrail/shared/db';
import { connectNats, openBuckets, provisionStream } from '@claimtrail/shared/nats';
import { newToken, tokenHash, type Scope } from '@claimtrail/shared/identity';
import { ClaimtrailError } from '@claimtrail/shared/errors';
import type { CliConfig } from './config.ts';

/** A CLI failure: printed as one line, exit code 1 (2 for usage). */
export class CliError extends ClaimtrailError {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super('cli_failed', message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

export async function openDatabase(
  config: CliConfig,
  o: { create: boolean; max?: number },
): Promise<{ db: Kysely<Database>; created: boolean }> {
  let created = false;
  try {
    if (o.create) created = await ensureDatabase(config.DATABASE_URL);
  } catch (err) {
    throw new CliError(
      `cannot reach Postgres at ${redactUrl(config.DATABASE_URL)} (set DATABASE_URL): ${(err as Error).message}`,
    );
  }
  const { db } = createDb({ url: config.DATABASE_URL, max: o.max ?? 10, applicationName: 'claimtrail-cli' });
  return { db, created };
}

export async function openNats(config: CliConfig, name: string): Promise<NatsConnection> {
  try {
    return await connectNats(config.NATS_URL, name);
  } catch (err) {
    throw new CliError(`cannot reach NATS at ${config.NATS_URL} (set NATS_URL): ${(err as Error).message}`);
  }
}

/** Creates the database if missing, migrates it, and provisions the stream and buckets. */
export async function migrateEverything(
  config: CliConfig,
  db: Kysely<Database>,
  nc: NatsConnection,
): Promise<{ outcomes: MigrateOutcome[]; streamCreated: boolean; serverVersion: string }> {
  const outcomes = await migrateAll(db, config.CLAIMTRAIL_SCHEMA);
  const failed = outcomes.find((o) => o.error !== undefined);
  if (failed)
    throw new CliError(
      `migration of schema ${failed.schema} failed: ${String((failed.error as Error)?.message ?? failed.error)}`,
    );
  const { created, features } = await provisionStream(nc, {
    stream: config.CLAIMTRAIL_STREAM,
    subjectPrefix: config.CLAIMTRAIL_SUBJECT_PREFIX,
    duplicateWindowS: config.CLAIMTRAIL_DUPLICATE_WINDOW_S,
  });
  await openBuckets(nc, config.CLAIMTRAIL_STREAM);
  return { outcomes, streamCreated: created, serverVersion: features.version };
}

/** Creates a token: its hash goes to NATS KV (for ingest) and Postgres (for the query service). */
export async function createToken(
  config: CliConfig,
  db: Kysely<Database>,
  nc: NatsConnection,
  name: string,
  scopes: Scope[],
): Promise<string> {
  const token = newToken();
  const hash = tokenHash(token);
  const { tokens } = await openBuckets(nc, config.CLAIMTRAIL_STREAM);
  await tokens.put(hash, JSON.stringify({ principal: name, scopes, createdAt: new Date().toISOString() }));
  await db
    .withSchema(metaSchemaOf(config.CLAIMTRAIL_SCHEMA))
    .insertInto('api_tokens')
    .values({ token_hash: hash, principal: name, scopes, revoked_at: null })
    .execute();
  return token;
}
