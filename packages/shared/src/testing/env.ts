import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import type { Kysely } from 'kysely';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { createDb, migrateAll, quoteIdent, type Database } from '../db/index.ts';
import { bucketNames, connectNats, provisionStream } from '../nats/index.ts';

export interface ServiceUrls {
  databaseUrl: string;
  natsUrl: string;
}

let containers: Promise<ServiceUrls> | undefined;

function dockerWorks(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** The services a new machine runs (README, "Start"): what the tests use when no URL is set. */
const LOCAL = {
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
  natsUrl: 'nats://127.0.0.1:4222',
} as const;

/** Whether something accepts TCP connections at `url`'s host and port (within a second). */
function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port), timeout: 1000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/**
 * Where the tests find Postgres and NATS: `DATABASE_URL` and `NATS_URL`; for one unset, the local
 * service on its usual port when it answers (as `npm start` uses it); else containers started by
 * testcontainers when Docker works. Otherwise a clear failure.
 */
export async function serviceUrls(): Promise<ServiceUrls> {
  const databaseUrl = process.env.DATABASE_URL || ((await answers(LOCAL.databaseUrl)) ? LOCAL.databaseUrl : undefined);
  const natsUrl = process.env.NATS_URL || ((await answers(LOCAL.natsUrl)) ? LOCAL.natsUrl : undefined);
  if (databaseUrl && natsUrl) return { databaseUrl, natsUrl };
  if (!dockerWorks()) {
    const silent = [
      databaseUrl ? undefined : `Postgres (nothing answers at ${LOCAL.databaseUrl})`,
      natsUrl ? undefined : `NATS (nothing answers at ${LOCAL.natsUrl})`,
    ].filter((x) => x !== undefined);
    throw new Error(
      `tests need Postgres and NATS (JetStream); missing: ${silent.join(', ')}. Start them (bash .ci/run --services-only), set DATABASE_URL and NATS_URL to where they run, or make Docker available so testcontainers can start them`,
    );
  }
  containers ??= (async () => {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const { GenericContainer, Wait } = await import('testcontainers');
    const [pgc, natsc] = await Promise.all([
      databaseUrl ? undefined : new PostgreSqlContainer('postgres:17').start(),
      natsUrl
        ? undefined
        : new GenericContainer('nats:2.12-alpine')
            .withCommand(['-js'])
            .withExposedPorts(4222)
            .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
            .start(),
    ]);
    return {
      databaseUrl: databaseUrl ?? pgc!.getConnectionUri(),
      natsUrl: natsUrl ?? `nats://${natsc!.getHost()}:${natsc!.getMappedPort(4222)}`,
    };
  })();
  return containers;
}

export interface TestEnv extends ServiceUrls {
  /** Unique per test file: database name, stream, subject prefix. */
  id: string;
  stream: string;
  subjectPrefix: string;
  /** Base schema name (meta); read models live in `${schema}_rm`. */
  schema: string;
  db: Kysely<Database>;
  nc: NatsConnection;
  /** Environment variables for a child process of any service. */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** A database and a stream of its own for one test file; `cleanup` removes both. */
export async function createTestEnv(
  label: string,
  o: { migrate?: boolean; duplicateWindowS?: number } = {},
): Promise<TestEnv> {
  const urls = await serviceUrls();
  const id = `${label
    .replace(/[^a-z0-9]/gi, '')
    .toLowerCase()
    .slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  const dbName = `ct_t_${id}`;
  const admin = new pg.Client({ connectionString: urls.databaseUrl });
  await admin.connect();
  await admin.query(`create database ${quoteIdent(dbName)}`);
  await admin.end();
  const u = new URL(urls.databaseUrl);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  const stream = `T_${id.toUpperCase()}`;
  const subjectPrefix = `t_${id}`;
  const schema = 'claimtrail';
  const { db } = createDb({ url: databaseUrl, max: 8, applicationName: `test-${id}` });
  const nc = await connectNats(urls.natsUrl, `test-${id}`);
  if (o.migrate !== false) {
    const res = await migrateAll(db, schema);
    const failed = res.find((r) => r.error);
    if (failed) throw failed.error;
    await provisionStream(nc, { stream, subjectPrefix, duplicateWindowS: o.duplicateWindowS ?? 120 });
  }
  return {
    ...urls,
    databaseUrl,
    id,
    stream,
    subjectPrefix,
    schema,
    db,
    nc,
    env: {
      DATABASE_URL: databaseUrl,
      NATS_URL: urls.natsUrl,
      CLAIMTRAIL_STREAM: stream,
      CLAIMTRAIL_SUBJECT_PREFIX: subjectPrefix,
      CLAIMTRAIL_SCHEMA: schema,
      LOG_LEVEL: 'warn',
    },
    async cleanup() {
      await db.destroy().catch(() => undefined);
      try {
        const jsm = await jetstreamManager(nc);
        const names = bucketNames(stream);
        for (const s of [stream, ...Object.values(names).map((b) => `KV_${b}`)])
          await jsm.streams.delete(s).catch(() => undefined);
      } finally {
        await nc.close().catch(() => undefined);
      }
      const c = new pg.Client({ connectionString: urls.databaseUrl });
      await c.connect();
      await c.query(`drop database if exists ${quoteIdent(dbName)} with (force)`).catch(() => undefined);
      await c.end();
    },
  };
}
