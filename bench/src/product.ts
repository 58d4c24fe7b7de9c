// Running the product for the benchmarks: each service as a child process of its own (so the
// bench's own work never shares its event loop), on this run's database with a schema, a stream
// and KV buckets of its own, all removed at cleanup.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './context.ts';
import { stats, type Figure, type Unit } from './harness.ts';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The `claimtrail` command as users run it (the bin script sets the heap limits of the streaming commands).
export const CLI = join(REPO, 'services/cli/bin/claimtrail.js');
export const INGEST_MAIN = join(REPO, 'services/ingest/src/main.ts');
export const PROJECTOR_MAIN = join(REPO, 'services/projector/src/main.ts');
export const QUERY_MAIN = join(REPO, 'services/query/src/main.ts');
export const LOAD_MAIN = join(REPO, 'bench/src/load/http-load.ts');

/** One product installation: a schema base, a stream, a subject prefix, and the env for its processes. */
export interface ProductEnv {
  label: string;
  /** CLAIMTRAIL_SCHEMA (the meta schema); the read models live in `${base}_rm`. */
  base: string;
  stream: string;
  prefix: string;
  env: Record<string, string>;
}

/** A product installation on this run's database and NATS; its stream and buckets go at cleanup. */
export async function productEnv(ctx: BenchContext, label: string, base = `b_${label}`): Promise<ProductEnv> {
  const databaseUrl = await ctx.databaseUrl();
  const stream = `CTBENCH_${ctx.runId}_${label}`.toUpperCase().replace(/[^A-Z0-9_-]/g, '_');
  const prefix = `ctb.${ctx.runId}.${label.toLowerCase().replace(/[^a-z0-9_-]/g, '_')}`;
  ctx.onCleanup(`delete stream ${stream} and its buckets`, async () => {
    const jsm = await ctx.jsm();
    for (const s of [stream, ...['idempotency', 'tokens', 'identities'].map((b) => `KV_${stream}_${b}`)]) {
      await jsm.streams.delete(s).catch(() => undefined);
    }
  });
  return {
    label,
    base,
    stream,
    prefix,
    env: {
      DATABASE_URL: databaseUrl,
      NATS_URL: ctx.config.natsUrl,
      CLAIMTRAIL_STREAM: stream,
      CLAIMTRAIL_SUBJECT_PREFIX: prefix,
      CLAIMTRAIL_SCHEMA: base,
      CLAIMTRAIL_RATE_LIMIT_PER_MIN: '100000000',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
    },
  };
}

/** The same installation's stream with another schema base (a fresh set of read models). */
export function withBase(p: ProductEnv, base: string): ProductEnv {
  return { ...p, base, env: { ...p.env, CLAIMTRAIL_SCHEMA: base } };
}

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A child node process with its stdout lines and the tail of its stderr. */
export class Child {
  readonly proc: ChildProcess;
  readonly name: string;
  private stderrTail = '';
  private stdoutBuf = '';
  private lineWaiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  readonly exited: Promise<number | null>;
  stdout = '';

  constructor(name: string, script: string, args: string[], env: Record<string, string>, nodeArgs: string[] = []) {
    this.name = name;
    this.proc = spawn(process.execPath, [...nodeArgs, script, ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stdout!.on('data', (d: string) => {
      this.stdout += d;
      this.stdoutBuf += d;
      let nl: number;
      while ((nl = this.stdoutBuf.indexOf('\n')) >= 0) {
        const line = this.stdoutBuf.slice(0, nl);
        this.stdoutBuf = this.stdoutBuf.slice(nl + 1);
        for (const w of [...this.lineWaiters]) {
          if (w.re.test(line)) {
            this.lineWaiters.splice(this.lineWaiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    });
    this.proc.stderr!.on('data', (d: string) => {
      this.stderrTail = (this.stderrTail + d).slice(-4000);
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  /** Resolves with the first stdout line matching `re`; rejects if the process exits first. */
  waitForLine(re: RegExp, timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no line ${re} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.lineWaiters.push({
        re,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code}) before printing ${re}: ${this.stderrTail}`));
      });
    });
  }

  /** Peak resident set size (VmHWM) in MB, while the process lives. */
  peakRssMb(): number {
    return procStatusKb(this.pid, 'VmHWM') / 1024;
  }

  rssMb(): number {
    return procStatusKb(this.pid, 'VmRSS') / 1024;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

function procStatusKb(pid: number, field: string): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Starts a child and stops it at cleanup (if the group did not). */
export function startChild(
  ctx: BenchContext,
  name: string,
  script: string,
  args: string[],
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Child {
  // BENCH_PROFILE_DIR=<dir>: every product process writes a CPU profile there (node --cpu-prof).
  const dir = process.env.BENCH_PROFILE_DIR;
  const profile = dir && script !== LOAD_MAIN ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  const child = new Child(name, script, args, env, [...profile, ...nodeArgs]);
  ctx.onCleanup(`stop ${name}`, () => child.stop());
  return child;
}

/** Runs the claimtrail CLI to completion; returns its stdout. */
export async function runCli(ctx: BenchContext, args: string[], env: Record<string, string>): Promise<string> {
  const child = new Child(`claimtrail ${args[0]}`, CLI, args, env);
  const code = await child.exited;
  if (code !== 0) throw new Error(`claimtrail ${args.join(' ')} exited ${code}: ${child.stderr}`);
  void ctx;
  return child.stdout;
}

/** `claimtrail migrate` (schemas, stream, buckets), then a token with the given scopes. */
export async function migrateAndToken(
  ctx: BenchContext,
  p: ProductEnv,
  scopes: string[] = ['report:write'],
): Promise<string> {
  await runCli(ctx, ['migrate'], p.env);
  const out = await runCli(ctx, ['token', 'create', '--name', 'bench', '--scope', ...scopes], p.env);
  const token = out.trim().split('\n').pop()!;
  if (!/^ct_/.test(token)) throw new Error(`claimtrail token create printed ${out}`);
  return token;
}

/** Polls `url` until it answers 200. */
export async function waitReady(url: string, child: Child, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.proc.exitCode !== null) throw new Error(`${child.name} exited ${child.proc.exitCode}: ${child.stderr}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${child.name}: ${url} not ready within ${timeoutMs} ms: ${child.stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What the load generator (bench/src/load/http-load.ts) prints as its last stdout line. */
export interface LoadResult {
  requests: number;
  ok: number;
  errors: number;
  errorSamples: string[];
  events: number;
  /** Ingest and freshness modes: claims answered as echoes (the load is meant to have none). */
  echoes?: number;
  seconds: number;
  latenciesMs: number[];
  /** Freshness mode: 202 → visible. */
  visibleMs?: number[];
  rows?: number;
  /** Get mode: answers 503 past the query service's bounds, retried after a second. */
  retried?: number;
  /** CPU seconds the load generator's process used, start to end (warm-up included). */
  cpuSeconds?: number;
  /** Flood mode: answers by HTTP status (0: no answer), the 200s' latency, when it ran (epoch ms). */
  statuses?: Record<string, number>;
  okP50Ms?: number | null;
  okP99Ms?: number | null;
  startedAt?: number;
  endedAt?: number;
  /** Probe mode: each request's start (epoch ms), latency (ms) and status. */
  samples?: [number, number, number][];
}

/** Runs the load generator in a child process of its own and returns what it measured. */
export async function runLoad(ctx: BenchContext, spec: Record<string, unknown>): Promise<LoadResult> {
  const child = startChild(ctx, `load ${String(spec.mode)}`, LOAD_MAIN, [JSON.stringify(spec)], {});
  const code = await child.exited;
  if (code !== 0) throw new Error(`load generator exited ${code}: ${child.stderr}`);
  const last = child.stdout.trim().split('\n').pop()!;
  const r = JSON.parse(last) as LoadResult;
  // Every claim of the ingest and freshness loads is new; an echo costs ingest a second publish
  // and the projector another row, so a load with echoes measures something else.
  if (r.echoes) throw new Error(`the load posted ${r.echoes} claims the stream already held (echoes)`);
  return r;
}

/** Records a figure whose samples were gathered by the group itself (latencies, memory). */
export function addFigure(ctx: BenchContext, name: string, unit: Unit, samples: number[], note?: string): Figure {
  const fig: Figure = {
    name,
    group: ctx.group,
    unit,
    better: unit.endsWith('/s') ? 'higher' : 'lower',
    reps: samples.length,
    samples,
    ...stats(samples),
    ...(note ? { note } : {}),
  };
  ctx.log(`${name}: ${samples.map((s) => s.toFixed(1)).join(', ')} ${unit}`);
  return ctx.results.add(fig);
}

/**
 * `claimtrail serve` (ingest, projector and query in one process) on this run's database and
 * NATS as a child on free ports, migrated, with a token of every scope; resolved once it says it
 * is running.
 */
export async function startServe(ctx: BenchContext, label: string) {
  const p = await productEnv(ctx, label);
  const token = await migrateAndToken(ctx, p);
  const [ingestPort, queryPort, projectorPort] = [await freePort(), await freePort(), await freePort()];
  const serve = startChild(ctx, 'claimtrail serve', CLI, ['serve'], {
    ...p.env,
    INGEST_PORT: String(ingestPort),
    QUERY_PORT: String(queryPort),
    PROJECTOR_PORT: String(projectorPort),
  });
  await serve.waitForLine(/claimtrail is running/, 60_000);
  return {
    serve,
    token,
    projectorPort,
    ingestUrl: `http://127.0.0.1:${ingestPort}`,
    queryUrl: `http://127.0.0.1:${queryPort}`,
  };
}
