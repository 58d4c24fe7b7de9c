import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { httpHeapFlags } from '@claimtrail/ingest/heap';
import { projectorHeapFlags } from '@claimtrail/projector/heap';

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));
let env: TestEnv;

interface Running {
  child: ChildProcess;
  out: string[];
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exit(): Promise<{ code: number | null; signal: string | null }>;
}

/** Every process a test started: killed after the file, so a test that fails midway leaves none running. */
const started = new Set<ChildProcess>();

function start(args: string[], extra: Record<string, string>): Running {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env.env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  const out: string[] = [];
  const listeners = new Set<() => void>();
  const push = (d: Buffer) => {
    out.push(d.toString());
    for (const l of listeners) l();
  };
  child.stdout.on('data', push);
  child.stderr.on('data', push);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    out,
    waitFor(re, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.join('').match(re);
          if (m) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${re}; output:\n${out.join('')}`));
        }, ms);
        listeners.add(check);
        check();
      });
    },
    exit: () => exited,
  };
}

/** The node flags (before the script) a running process re-executed itself with (Linux: /proc). */
function nodeFlagsOf(pid: number): string[] {
  const [, ...args] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const script = args.findIndex((a) => !a.startsWith('--'));
  return args.slice(0, script);
}

/** The pids of a process's children (Linux: /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The ingest service in `processes` processes on any free port. */
function startIngest(processes: number): Running {
  return start([root('services/ingest/src/main.ts')], {
    INGEST_PORT: '0',
    INGEST_PROCESSES: String(processes),
    LOG_LEVEL: 'info',
  });
}

/** A GET on a connection of its own (no keep-alive pool); resolves to the status. */
function getOnNewConnection(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

beforeAll(async () => {
  env = await createTestEnv('processes');
});
afterAll(async () => {
  for (const child of started) child.kill('SIGKILL');
  await env?.cleanup();
});

describe('each process on its own', () => {
  it('claimtrail serve --demo prints its URLs, answers the demo history, and drains on SIGTERM', async () => {
    const s = start(
      [root('services/cli/bin/claimtrail.js'), 'serve', '--demo', '--token-file', `/tmp/ct-${env.id}/token`],
      {
        INGEST_PORT: '0',
        QUERY_PORT: '0',
        PROJECTOR_PORT: '0',
        LOG_LEVEL: 'warn',
      },
    );
    const m = await s.waitFor(/demo history: +(http:\/\/\S+)/);
    await s.waitFor(/demo token \(all scopes\)/);
    // It serves HTTP on its main thread with the young generation sized for it, in its own pid.
    if (process.platform === 'linux') expect(nodeFlagsOf(s.child.pid!)).toEqual(httpHeapFlags);
    const h = (await (await fetch(m[1]!)).json()) as {
      series: { source: { id: string }; points: { statedAt: string; best: number | null }[] }[];
    };
    expect(h.series[0]!.source.id).toBe('kr-nis');
    // The seed article's NIS figure: about 300 killed, stated in January 2025.
    expect(h.series[0]!.points.find((x) => x.statedAt === '2025-01')!.best).toBe(300);
    s.child.kill('SIGTERM');
    expect(await s.exit()).toEqual({ code: 0, signal: null });
  });

  it.each([
    ['ingest', 'services/ingest/src/main.ts', { INGEST_PORT: '0' }, httpHeapFlags],
    ['query', 'services/query/src/main.ts', { QUERY_PORT: '0' }, []],
    ['projector', 'services/projector/src/main.ts', { PROJECTOR_PORT: '0' }, projectorHeapFlags],
  ])('%s starts, is ready, runs with its heap flags, and exits 0 on SIGTERM', async (_name, main, ports, flags) => {
    const s = start([root(main)], { ...ports, LOG_LEVEL: 'info' });
    const m = await s.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
    // The process re-executed itself in place (same pid) with the flags of its heap.ts.
    if (process.platform === 'linux') expect(nodeFlagsOf(s.child.pid!)).toEqual(flags);
    const ready = await fetch(`${m[1]}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${m[1]}/metrics`)).text();
    expect(metrics).toContain('process_cpu_seconds_total');
    s.child.kill('SIGTERM');
    expect(await s.exit()).toEqual({ code: 0, signal: null });
    // Logs are JSON lines and carry no secrets.
    const lines = s.out
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
  });

  it.runIf(process.platform === 'linux')(
    'ingest with INGEST_PROCESSES=2: two processes on one port, /metrics sums them, SIGTERM stops both',
    async () => {
      const s = startIngest(2);
      await s.waitFor(/ingest running in 2 processes/);
      const port = (await s.waitFor(/Server listening at http:\/\/127\.0\.0\.1:(\d+)/))[1]!;
      const workers = childrenOf(s.child.pid!);
      expect(workers).toHaveLength(2);
      // Six requests on six connections: the primary hands connections to the workers in turn, so
      // each worker counts three, and only the sum over both says six.
      for (let i = 0; i < 6; i += 1) expect(await getOnNewConnection(Number(port), '/readyz')).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^http_requests_total\{method="GET",route="\/readyz",status="200"\} 6$/m);
      expect(metrics).not.toMatch(/did not answer|metrics only/);
      s.child.kill('SIGTERM');
      expect(await s.exit()).toEqual({ code: 0, signal: null });
      for (const pid of workers) expect(isRunning(pid)).toBe(false);
    },
  );

  it.runIf(process.platform === 'linux')(
    'ingest with INGEST_PROCESSES=3 stopped by SIGTERM while its later processes start exits 0, none left',
    async () => {
      const s = startIngest(3);
      await s.waitFor(/Server listening at/);
      const workers = childrenOf(s.child.pid!);
      expect(workers.length).toBeGreaterThanOrEqual(1);
      s.child.kill('SIGTERM');
      expect(await s.exit()).toEqual({ code: 0, signal: null });
      expect(s.out.join('')).not.toMatch(/ingest running in 3 processes/);
      for (const pid of workers) expect(isRunning(pid)).toBe(false);
    },
  );

  it.runIf(process.platform === 'linux')(
    'ingest with INGEST_PROCESSES=2 stops the other process and exits 1 when one dies',
    async () => {
      const s = startIngest(2);
      await s.waitFor(/ingest running in 2 processes/);
      const [first, second] = childrenOf(s.child.pid!);
      process.kill(first!, 'SIGKILL');
      expect(await s.exit()).toEqual({ code: 1, signal: null });
      expect(s.out.join('')).toMatch(/an ingest process exited; stopping the others/);
      expect(isRunning(second!)).toBe(false);
    },
  );

  it('refuses to start with a bad setting, naming the variable', async () => {
    const s = start([root('services/query/src/main.ts')], { QUERY_PORT: '99999' });
    const r = await s.exit();
    expect(r.code).toBe(2);
    expect(s.out.join('')).toMatch(/QUERY_PORT="99999"/);
  });
});

describe('Postgres or NATS unreachable', () => {
  const missingDb = () => {
    const u = new URL(env.env.DATABASE_URL!);
    u.pathname = `/ct_missing_${env.id}`;
    return u.toString();
  };
  const noStackTrace = (out: string) => expect(out).not.toMatch(/^\s+at /m);

  it.each([
    [
      'the projector, the database missing',
      ['services/projector/src/main.ts'],
      () => ({ DATABASE_URL: missingDb(), PROJECTOR_PORT: '0' }),
      /^claimtrail projector: cannot read the database at postgres:\/\/\S+\/ct_missing_\S+ \(set DATABASE_URL; `claimtrail migrate` creates it\): database "ct_missing_\S+" does not exist$/m,
    ],
    [
      'ingest, NATS refusing connections',
      ['services/ingest/src/main.ts'],
      () => ({ NATS_URL: 'nats://127.0.0.1:1', INGEST_PORT: '0' }),
      /^claimtrail ingest: cannot reach NATS at nats:\/\/127\.0\.0\.1:1 \(set NATS_URL\): /m,
    ],
    [
      'claimtrail audit verify, the database missing',
      ['services/cli/bin/claimtrail.js', 'audit', 'verify'],
      () => ({ DATABASE_URL: missingDb() }),
      /^claimtrail: cannot reach Postgres at \S+ \(set DATABASE_URL\): database "ct_missing_\S+" does not exist; `claimtrail migrate` creates it$/m,
    ],
  ])('%s: one line naming the setting, exit 1, no stack trace', async (_name, args, extra, message) => {
    const [main, ...rest] = args;
    const s = start([root(main!), ...rest], extra());
    expect(await s.exit()).toEqual({ code: 1, signal: null });
    const out = s.out.join('');
    expect(out).toMatch(message);
    noStackTrace(out);
  });

  it('the query service starts without its database, answers 503 with Retry-After, and is not ready', async () => {
    const s = start([root('services/query/src/main.ts')], {
      DATABASE_URL: missingDb(),
      QUERY_PORT: '0',
      LOG_LEVEL: 'info',
    });
    const m = await s.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
    const ready = await fetch(`${m[1]}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { detail: string }).detail).toMatch(/does not exist/);
    const topics = await fetch(`${m[1]}/v1/topics`);
    expect(topics.status).toBe(503);
    expect(topics.headers.get('retry-after')).toBe('2');
    expect(await topics.json()).toMatchObject({ status: 503, detail: 'the database is unavailable; retry' });
    s.child.kill('SIGTERM');
    expect(await s.exit()).toEqual({ code: 0, signal: null });
  });
});
