import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '@claimtrail/shared/nats';
import {
  freePort,
  startNatsCluster,
  startNatsServer,
  startPostgresServer,
  type NatsNode,
  type PostgresServer,
} from '@claimtrail/shared/testing';
import { startServiceProcess, tail, waitForHttpOk, type ServiceProcess } from './service-process.ts';

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const SCRIPTS = {
  cli: root('services/cli/bin/claimtrail.js'),
  ingest: root('services/ingest/src/main.ts'),
  projector: root('services/projector/src/main.ts'),
  query: root('services/query/src/main.ts'),
};

export const STREAM = 'CLAIMTRAIL';
export const SUBJECT_PREFIX = 'ct';
const META_SCHEMA = 'claimtrail';

/** A pino line of the projector saying it leads and folds. */
export const PROJECTOR_RUNNING = /"msg":"projector running"/;
/** A pino line of the projector saying another one leads. */
export const PROJECTOR_STANDING_BY = /"msg":"another projector holds the lock; standing by"/;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Everything one fault runs against: its own Postgres, NATS and service processes. */
export interface FaultWorld {
  label: string;
  /** Logs of the services and CLI runs. */
  dir: string;
  pg: PostgresServer;
  natsNodes: NatsNode[];
  /** Only for a cluster: waits for a JetStream meta leader with every running node current. */
  natsReady(): Promise<void>;
  /** The environment every claimtrail process of this world gets. */
  env: Record<string, string>;
  token: string;
  ingest: ServiceProcess;
  ingestUrl: string;
  query: ServiceProcess;
  queryUrl: string;
  /** Every projector started so far, oldest first. */
  projectors: ServiceProcess[];
  /** Starts one more projector process (no wait). */
  startProjector(): Promise<ServiceProcess>;
  /** Every service process started so far. */
  processes(): ServiceProcess[];
  /** The suite's own Postgres connections (errors while Postgres is down are the caller's). */
  pool: pg.Pool;
  /** The suite's own NATS connection (reconnects by itself). */
  nc: NatsConnection;
  cli(args: string[], timeoutMs?: number): Promise<CliResult>;
  /** The read-model schema the query service answers from. */
  readModelSchema(): Promise<string>;
  /** The stream's last seq. */
  streamLastSeq(): Promise<number>;
  /** The projector's checkpoint in the live read-model schema. */
  checkpoint(): Promise<number>;
  /** Stops every process, removes every directory. Idempotent; also after a failed start. */
  close(): Promise<void>;
}

export interface FaultWorldOptions {
  label: string;
  /** A cluster of this many nats-server nodes; default one server. */
  natsNodes?: number;
  /** More environment for every claimtrail process (e.g. CLAIMTRAIL_REPLICAS). */
  env?: Record<string, string>;
}

const keep = process.env.FAULT_KEEP === '1';

/**
 * Creates a world: a Postgres cluster and nats-server(s) of its own, `claimtrail migrate`, a token,
 * then ingest (INGEST_PROCESSES=1), one projector and query as separate processes, each ready.
 * Close it in afterAll (or a finally): it stops everything even after a failed start.
 */
export async function createFaultWorld(o: FaultWorldOptions): Promise<FaultWorld> {
  const dir = mkdtempSync(join(tmpdir(), `ct-fault-${o.label}-`));
  const cleanups: (() => Promise<void>)[] = [];
  const all: ServiceProcess[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all(all.map((p) => p.stop(5000)));
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pgServer = await startPostgresServer({ label: o.label });
    cleanups.push(() => pgServer.destroy());
    let natsNodes: NatsNode[];
    let natsUrl: string;
    let natsReady: () => Promise<void> = () => Promise.resolve();
    if ((o.natsNodes ?? 1) > 1) {
      const cluster = await startNatsCluster({ nodes: o.natsNodes! });
      cleanups.push(() => cluster.stop());
      await cluster.ready();
      natsNodes = cluster.nodes;
      natsUrl = cluster.urls;
      natsReady = () => cluster.ready();
    } else {
      const server = await startNatsServer();
      cleanups.push(() => server.stop());
      natsNodes = [server];
      natsUrl = server.url;
    }
    const env: Record<string, string> = {
      DATABASE_URL: pgServer.url('claimtrail'),
      NATS_URL: natsUrl,
      CLAIMTRAIL_STREAM: STREAM,
      CLAIMTRAIL_SUBJECT_PREFIX: SUBJECT_PREFIX,
      CLAIMTRAIL_SCHEMA: META_SCHEMA,
      CLAIMTRAIL_RATE_LIMIT_PER_MIN: '1000000',
      INGEST_PROCESSES: '1',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...o.env,
    };
    const cli = (args: string[], timeoutMs = 120_000) =>
      new Promise<CliResult>((resolve) => {
        execFile(
          process.execPath,
          [SCRIPTS.cli, ...args],
          { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
            resolve({ code, stdout, stderr });
          },
        );
      });
    const migrated = await cli(['migrate']);
    if (migrated.code !== 0) throw new Error(`claimtrail migrate failed:\n${migrated.stdout}${migrated.stderr}`);
    const made = await cli(['token', 'create', '--scope', 'report:write', '--scope', 'read', '--name', 'fault-suite']);
    if (made.code !== 0) throw new Error(`claimtrail token create failed:\n${made.stderr}`);
    const token = made.stdout.trim();

    const start = (name: string, script: string, extra: Record<string, string>) => {
      const p = startServiceProcess({ name, script, env: { ...env, ...extra }, logFile: join(dir, `${name}.log`) });
      all.push(p);
      return p;
    };
    const projectors: ServiceProcess[] = [];
    const startProjector = async () => {
      const name = `projector-${projectors.length + 1}`;
      const p = start(name, SCRIPTS.projector, { PROJECTOR_PORT: String(await freePort()) });
      projectors.push(p);
      return p;
    };
    const [ingestPort, queryPort] = [await freePort(), await freePort()];
    const ingest = start('ingest', SCRIPTS.ingest, { INGEST_PORT: String(ingestPort) });
    const query = start('query', SCRIPTS.query, { QUERY_PORT: String(queryPort) });
    const projector = await startProjector();
    const ingestUrl = `http://127.0.0.1:${ingestPort}`;
    const queryUrl = `http://127.0.0.1:${queryPort}`;
    await Promise.all([
      waitForHttpOk(`${ingestUrl}/readyz`, ingest),
      waitForHttpOk(`${queryUrl}/readyz`, query),
      projector.waitForLog(PROJECTOR_RUNNING),
    ]);

    const pool = new pg.Pool({
      connectionString: env.DATABASE_URL,
      max: 4,
      connectionTimeoutMillis: 2000,
      application_name: 'fault-suite',
    });
    // An idle connection that Postgres ends (a stop, a restart) must not throw in the test process.
    pool.on('error', () => undefined);
    cleanups.push(() => pool.end());
    const nc = await connectNats(natsUrl, 'fault-suite');
    cleanups.push(() => nc.close());

    const readModelSchema = async () => {
      const r = await pool.query<{ schema_name: string }>(`select schema_name from ${META_SCHEMA}.active_schema`);
      const s = r.rows[0]?.schema_name;
      if (!s) throw new Error('no active read-model schema');
      return s;
    };
    return {
      label: o.label,
      dir,
      pg: pgServer,
      natsNodes,
      natsReady,
      env,
      token,
      ingest,
      ingestUrl,
      query,
      queryUrl,
      projectors,
      startProjector,
      processes: () => [...all],
      pool,
      nc,
      cli,
      readModelSchema,
      async streamLastSeq() {
        const jsm = await jetstreamManager(nc, { timeout: 2000 });
        return (await jsm.streams.info(STREAM)).state.last_seq;
      },
      async checkpoint() {
        const s = await readModelSchema();
        const r = await pool.query<{ last_seq: string }>(`select max(last_seq) as last_seq from ${s}.checkpoint`);
        return Number(r.rows[0]?.last_seq ?? 0);
      },
      close,
    };
  } catch (err) {
    const logs = all.map((p) => `--- ${p.name} (${p.logFile})\n${tail(p.log(), 15)}`).join('\n');
    await close();
    throw new Error(`the fault world did not start: ${(err as Error).message}\n${logs}`, { cause: err });
  }
}

/** Polls `cond` every `everyMs` until true; false after `ms`, or as soon as `hopeless()` says so. */
export async function until(
  cond: () => Promise<boolean>,
  ms: number,
  everyMs = 200,
  hopeless: () => boolean = () => false,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await cond()) return true;
    } catch {
      // the dependency is still away: try again
    }
    if (Date.now() > deadline || hopeless()) return false;
    await sleep(everyMs);
  }
}
