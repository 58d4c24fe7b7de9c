// One benchmark run's resources: its own database and stream names (random per run), shared
// connections, and a cleanup list that runs on success, on failure and on SIGINT/SIGTERM.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { measure, progress, Results, type Figure, type MeasureOptions, type RepResult } from './harness.ts';

export interface BenchConfig {
  quick: boolean;
  reps: number;
  databaseUrl: string;
  natsUrl: string;
}

export interface BenchStream {
  name: string;
  /** Subjects of this stream are `${prefix}.<anything>`. */
  prefix: string;
}

export function readConfig(quick: boolean, reps?: number): BenchConfig {
  return {
    quick,
    reps: reps ?? 3,
    databaseUrl: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    natsUrl: process.env.NATS_URL || 'nats://127.0.0.1:4222',
  };
}

/** The database URL with another database name. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export class BenchContext {
  readonly config: BenchConfig;
  readonly results: Results;
  readonly runId: string;
  /** Name of this run's own database (created on first use, dropped at cleanup). */
  readonly database: string;
  group = '';
  private cleanups: { label: string; fn: () => Promise<void> | void }[] = [];
  private databaseCreated: Promise<string> | undefined;
  private natsConn: Promise<NatsConnection> | undefined;
  private pools: pg.Pool[] = [];

  constructor(config: BenchConfig, results: Results) {
    this.config = config;
    this.results = results;
    this.runId = randomBytes(4).toString('hex');
    this.database = `ctbench_${this.runId}`;
  }

  get quick(): boolean {
    return this.config.quick;
  }

  get reps(): number {
    return this.config.reps;
  }

  log(line: string): void {
    progress(`[${this.group || 'bench'}] ${line}`);
  }

  /** Registers a cleanup step; steps run last-in first-out. */
  onCleanup(label: string, fn: () => Promise<void> | void): void {
    this.cleanups.push({ label, fn });
  }

  /** Registers a cleanup step that runs after every other (the run's shared connections). */
  private onCleanupLast(label: string, fn: () => Promise<void> | void): void {
    this.cleanups.unshift({ label, fn });
  }

  /**
   * On SIGINT or SIGTERM: runs the cleanup (the run's database and streams go), then exits 130;
   * a second signal exits at once.
   */
  cleanUpOnSignals(): void {
    let interrupted = false;
    const onSignal = (sig: string) => {
      if (interrupted) process.exit(130);
      interrupted = true;
      progress(`${sig}: cleaning up`);
      void this.cleanup().finally(() => process.exit(130));
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
  }

  /** Measures and records a figure of the current group. */
  async measure(
    name: string,
    fn: (rep: number) => Promise<RepResult>,
    opts: MeasureOptions & { reps?: number } = {},
  ): Promise<Figure> {
    this.log(`${name} …`);
    const fig = await measure(name, opts.reps ?? this.reps, fn, {
      group: this.group,
      log: (l) => this.log(l.trim()),
      ...opts,
    });
    return this.results.add(fig);
  }

  // ---------------------------------------------------------------- Postgres

  /** Creates this run's database once and returns its URL. */
  databaseUrl(): Promise<string> {
    this.databaseCreated ??= (async () => {
      const admin = new pg.Client({ connectionString: this.config.databaseUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${this.database}`);
      } finally {
        await admin.end();
      }
      this.log(`created database ${this.database}`);
      // Runs after every pool has been closed.
      this.onCleanupLast(`drop database ${this.database}`, () => this.dropDatabase());
      return withDatabase(this.config.databaseUrl, this.database);
    })();
    return this.databaseCreated;
  }

  /** A pool on this run's database, closed at cleanup. */
  async pool(max = 4, options?: string): Promise<pg.Pool> {
    const pool = new pg.Pool({ connectionString: await this.databaseUrl(), max, ...(options ? { options } : {}) });
    pool.on('error', () => {}); // idle-client errors during a forced drop
    this.pools.push(pool);
    return pool;
  }

  /**
   * Between groups: a CHECKPOINT and a sync, so that each group is measured on its own work, not
   * on flushing the writes of the one before (the 1M catch-up leaves about a gigabyte of WAL and
   * its pages unflushed; the checkpoint after it takes about a second). Errors are logged, not
   * fatal: a role without the right to CHECKPOINT still gets its figures.
   */
  async settle(before = 'the group'): Promise<void> {
    if (this.databaseCreated) {
      const t0 = performance.now();
      const admin = new pg.Client({ connectionString: this.config.databaseUrl });
      try {
        await admin.connect();
        await admin.query('CHECKPOINT');
        this.log(`before ${before}: Postgres checkpoint ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } catch (err) {
        this.log(`before ${before}: Postgres checkpoint failed (${(err as Error).message}); going on`);
      } finally {
        await admin.end().catch(() => undefined);
      }
    }
    const t1 = performance.now();
    const r = spawnSync('sync', { stdio: 'ignore' });
    if (r.error || r.status !== 0)
      this.log(`before ${before}: sync failed (${r.error?.message ?? `exit ${r.status}`}); going on`);
    else this.log(`before ${before}: sync ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  }

  private async dropDatabase(): Promise<void> {
    await Promise.allSettled(this.pools.map((p) => p.end()));
    // BENCH_KEEP_DATABASE=1 keeps it for inspection (EXPLAIN ANALYZE …); drop it by hand afterwards.
    if (process.env.BENCH_KEEP_DATABASE === '1') {
      progress(`[cleanup] keeping database ${this.database} (BENCH_KEEP_DATABASE=1)`);
      return;
    }
    const admin = new pg.Client({ connectionString: this.config.databaseUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }

  // ---------------------------------------------------------------- NATS

  /** The run's NATS connection with the fastest client settings (no async stack traces). */
  nats(): Promise<NatsConnection> {
    this.natsConn ??= (async () => {
      const nc = await connect({ servers: this.config.natsUrl, noAsyncTraces: true });
      // Runs after every step that deletes a stream through it, whenever the connection was first
      // asked for (a product stream's step can come before that: with --only projector or
      // npm run bench:ab, the streams of 100k-1M events were left behind).
      this.onCleanupLast('close NATS connection', async () => {
        await nc.drain().catch(() => nc.close());
      });
      return nc;
    })();
    return this.natsConn;
  }

  async js(): Promise<JetStreamClient> {
    return jetstream(await this.nats());
  }

  async jsm(): Promise<JetStreamManager> {
    return jetstreamManager(await this.nats());
  }

  /**
   * Creates a stream unique to this run (file storage, one replica, like the product's) and
   * deletes it at cleanup.
   */
  async createStream(label: string, extra: Partial<StreamConfig> = {}): Promise<BenchStream> {
    const name = `CTBENCH_${this.runId}_${label}`.toUpperCase().replace(/[^A-Z0-9_-]/g, '_');
    const prefix = `ctbench.${this.runId}.${label.toLowerCase().replace(/[^a-z0-9_-]/g, '_')}`;
    const jsm = await this.jsm();
    this.onCleanup(`delete stream ${name}`, async () => {
      const m = await this.jsm();
      await m.streams.delete(name).catch((e: unknown) => {
        if (!String(e).includes('not found')) throw e;
      });
    });
    await jsm.streams.add({
      name,
      subjects: [`${prefix}.>`],
      storage: StorageType.File,
      num_replicas: 1,
      duplicate_window: 120_000_000_000, // 2 min, in ns
      ...extra,
    });
    return { name, prefix };
  }

  /** Runs every cleanup step (LIFO); errors are reported, not thrown. */
  async cleanup(): Promise<void> {
    const steps = this.cleanups.splice(0).reverse();
    for (const step of steps) {
      try {
        await step.fn();
      } catch (e) {
        progress(`[cleanup] ${step.label} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}
