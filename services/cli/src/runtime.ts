import type { NatsConnection } from '@nats-io/transport-node';
import { sql, type Kysely } from 'kysely';
import {
  createDb,
  ensureDatabase,
  metaSchemaOf,
  migrateAll,
  type Database,
  type MigrateOutcome,
} from '@claimtrail/shared/db';
import { jetstreamManager, JetStreamApiCodes } from '@nats-io/jetstream';
import {
  bucketNames,
  changeReplicas,
  clusterOf,
  connectNats,
  isApiError,
  openBuckets,
  provisionStream,
  type ReplicaChange,
} from '@claimtrail/shared/nats';
import { rebuildIdentityIndex, type IdentityRebuildResult } from '@claimtrail/audit';
import { newToken, tokenHash, type Scope } from '@claimtrail/shared/identity';
import { ClaimtrailError, ValidationError } from '@claimtrail/shared/errors';
import { redactUrl } from '@claimtrail/shared';
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
  if (!o.create) {
    // Fail here, with one line naming the setting, rather than at the first query with a stack trace.
    try {
      await sql`select 1`.execute(db);
    } catch (err) {
      await db.destroy().catch(() => undefined);
      const missing = (err as { code?: string }).code === '3D000' ? '; `claimtrail migrate` creates it' : '';
      throw new CliError(
        `cannot reach Postgres at ${redactUrl(config.DATABASE_URL)} (set DATABASE_URL): ${(err as Error).message}${missing}`,
      );
    }
  }
  return { db, created };
}

export async function openNats(config: CliConfig, name: string): Promise<NatsConnection> {
  try {
    return await connectNats(config.NATS_URL, name);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** A refusal from NATS (a replica count the cluster cannot place) as a usage error: exit code 2, one line. */
async function asCliError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ValidationError) throw new CliError(err.message, 2);
    throw err;
  }
}

/** The ingest buckets, created with `CLAIMTRAIL_REPLICAS` replicas when missing. */
export function openCliBuckets(config: CliConfig, nc: NatsConnection) {
  return asCliError(() => openBuckets(nc, config.CLAIMTRAIL_STREAM, { replicas: config.CLAIMTRAIL_REPLICAS }));
}

/**
 * Creates the database if missing, migrates it, and provisions the stream and buckets (with
 * `replicas`, default `CLAIMTRAIL_REPLICAS`, when they are created). Existing ones keep their replica
 * count unless `changeReplicasTo` is given.
 */
export async function migrateEverything(
  config: CliConfig,
  db: Kysely<Database>,
  nc: NatsConnection,
  o: { changeReplicasTo?: number; rebuildIdentities?: boolean } = {},
): Promise<{
  outcomes: MigrateOutcome[];
  streamCreated: boolean;
  serverVersion: string;
  /** The stream's replica count after provisioning (and the change, if any). */
  replicas: number;
  replicaChanges: ReplicaChange[];
  cluster: { name: string | undefined; servers: number | undefined };
  /** The identity index, when it was built from the stream now (a new bucket, or asked for). */
  identities: IdentityRebuildResult | undefined;
}> {
  const outcomes = await migrateAll(db, config.CLAIMTRAIL_SCHEMA);
  const failed = outcomes.find((o) => o.error !== undefined);
  if (failed)
    throw new CliError(
      `migration of schema ${failed.schema} failed: ${String((failed.error as Error)?.message ?? failed.error)}`,
    );
  const replicas = o.changeReplicasTo ?? config.CLAIMTRAIL_REPLICAS;
  const {
    created,
    features,
    replicas: had,
  } = await asCliError(() =>
    provisionStream(nc, {
      stream: config.CLAIMTRAIL_STREAM,
      subjectPrefix: config.CLAIMTRAIL_SUBJECT_PREFIX,
      duplicateWindowS: config.CLAIMTRAIL_DUPLICATE_WINDOW_S,
      replicas,
    }),
  );
  const identitiesBucket = `KV_${bucketNames(config.CLAIMTRAIL_STREAM).identities}`;
  const identitiesExisted = await (await jetstreamManager(nc)).streams.info(identitiesBucket).then(
    () => true,
    (err: unknown) => {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return false;
      throw err;
    },
  );
  const buckets = await asCliError(() => openBuckets(nc, config.CLAIMTRAIL_STREAM, { replicas }));
  // A stream written before the index existed, or one whose index is in doubt, gets it built
  // from its claim events (identity-index.ts in the shared nats package).
  const identities =
    !created && (!identitiesExisted || o.rebuildIdentities === true)
      ? await rebuildIdentityIndex(nc, {
          stream: config.CLAIMTRAIL_STREAM,
          subjectPrefix: config.CLAIMTRAIL_SUBJECT_PREFIX,
          kv: buckets.identities,
        })
      : undefined;
  const replicaChanges =
    o.changeReplicasTo === undefined
      ? []
      : await asCliError(() => changeReplicas(nc, config.CLAIMTRAIL_STREAM, o.changeReplicasTo!));
  return {
    outcomes,
    streamCreated: created,
    serverVersion: features.version,
    replicas: o.changeReplicasTo ?? had,
    replicaChanges,
    cluster: clusterOf(nc),
    identities,
  };
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
  const { tokens } = await openCliBuckets(config, nc);
  await tokens.put(hash, JSON.stringify({ principal: name, scopes, createdAt: new Date().toISOString() }));
  await db
    .withSchema(metaSchemaOf(config.CLAIMTRAIL_SCHEMA))
    .insertInto('api_tokens')
    .values({ token_hash: hash, principal: name, scopes, revoked_at: null })
    .execute();
  return token;
}

export interface TokenRow {
  /** SHA-256 of the token, hex: what is stored, and what `token list` shows. */
  hash: string;
  principal: string;
  scopes: string[];
  createdAt: string;
  revokedAt: string | null;
}

const isoOf = (v: unknown): string => (v instanceof Date ? v : new Date(String(v))).toISOString();

/** Every token (hashes only), oldest first. */
export async function listTokens(config: CliConfig, db: Kysely<Database>): Promise<TokenRow[]> {
  const rows = await db
    .withSchema(metaSchemaOf(config.CLAIMTRAIL_SCHEMA))
    .selectFrom('api_tokens')
    .selectAll()
    .orderBy('created_at')
    .orderBy('token_hash')
    .execute()
    .catch((err: unknown) => {
      // 42P01 undefined_table, 3F000 invalid_schema_name: nothing migrated yet.
      if (['42P01', '3F000'].includes((err as { code?: string }).code ?? ''))
        throw new CliError('the database is not migrated; run `claimtrail migrate` first');
      throw err;
    });
  return rows.map((r) => ({
    hash: r.token_hash,
    principal: r.principal,
    scopes: r.scopes,
    createdAt: isoOf(r.created_at),
    revokedAt: r.revoked_at === null ? null : isoOf(r.revoked_at),
  }));
}

/**
 * Revokes a token, given as the token itself (`ct_…`) or as its hash or a unique prefix of it
 * (8 hex digits at least, as `token list` prints). Both stores learn it: Postgres (query) and the
 * NATS KV bucket (ingest); services that looked the token up in the last 5 s may still accept it
 * until their cache expires. Revoking a revoked token changes nothing.
 */
export async function revokeToken(
  config: CliConfig,
  db: Kysely<Database>,
  nc: NatsConnection,
  given: string,
): Promise<{ row: TokenRow; already: boolean }> {
  if (!given.startsWith('ct_') && !/^[0-9a-f]{8,64}$/.test(given))
    throw new CliError('<token> must be a token (ct_…) or its hash from `claimtrail token list` (8+ hex digits)', 2);
  const all = await listTokens(config, db);
  let found: TokenRow | undefined;
  if (given.startsWith('ct_')) {
    const hash = tokenHash(given);
    found = all.find((t) => t.hash === hash);
  } else {
    const matches = all.filter((t) => t.hash.startsWith(given));
    if (matches.length > 1)
      throw new CliError(`<token> ${given} is the start of ${matches.length} token hashes; give more digits`, 2);
    found = matches[0];
  }
  if (!found) throw new CliError('no such token (see `claimtrail token list`)');
  const { hash } = found;
  const meta = metaSchemaOf(config.CLAIMTRAIL_SCHEMA);
  const revokedAt = found.revokedAt ?? new Date().toISOString();
  // The KV entry first: ingest is where a stolen token can write.
  const { tokens } = await openCliBuckets(config, nc);
  const entry = await tokens.get(hash);
  const stored = entry && entry.operation === 'PUT' ? entry.json<Record<string, unknown>>() : {};
  await tokens.put(
    hash,
    JSON.stringify({
      principal: found.principal,
      scopes: found.scopes,
      createdAt: found.createdAt,
      ...stored,
      revokedAt,
    }),
  );
  if (!found.revokedAt)
    await db
      .withSchema(meta)
      .updateTable('api_tokens')
      .set({ revoked_at: revokedAt })
      .where('token_hash', '=', hash)
      .execute();
  return { row: { ...found, revokedAt }, already: found.revokedAt !== null };
}
