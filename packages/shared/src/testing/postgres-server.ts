import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How `pg_ctl stop` ends the server: `immediate` is a crash (recovery at the next start). */
export type PostgresStopMode = 'smart' | 'fast' | 'immediate';

/** A Postgres cluster of a test's own, in a temporary directory, on a free port, trust auth. */
export interface PostgresServer {
  port: number;
  /** The temporary directory: the data directory, the Unix socket and the server log. */
  dir: string;
  dataDir: string;
  logFile: string;
  /** A connection URL to a database of this cluster (default `postgres`), as user `postgres`. */
  url(database?: string): string;
  /** The postmaster's pid while it runs. */
  pid(): number | undefined;
  /** Starts the stopped cluster (waits until it accepts connections). */
  start(): Promise<void>;
  /** Stops the cluster (`pg_ctl stop -m <mode>`, default `fast`); waits until it is down. */
  stop(mode?: PostgresStopMode): Promise<void>;
  /** Stops (default `fast`) and starts again. */
  restart(mode?: PostgresStopMode): Promise<void>;
  /** Stops it at once if it runs and removes its directory. Idempotent. */
  destroy(): Promise<void>;
}

/**
 * The directory of `initdb` and `pg_ctl`: `$PG_BIN`, else the newest
 * `/usr/lib/postgresql/<version>/bin` (Debian's layout), else the first `pg_ctl` on the PATH.
 */
export function postgresBinDir(): string {
  const given = process.env.PG_BIN;
  if (given) return given;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(root, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  }
  try {
    const pgCtl = execFileSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' }).trim();
    if (pgCtl) return pgCtl.replace(/\/pg_ctl$/, '');
  } catch {
    // no pg_ctl on the PATH either: the error below says what to install
  }
  throw new Error('no Postgres server binaries: install postgresql (initdb, pg_ctl) or set PG_BIN to their directory');
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

// initdb refuses to run as root, and the server must own its data directory.
const SERVER_USER = 'postgres';
const asRoot = process.getuid?.() === 0;

function serverCommand(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', SERVER_USER, '--', bin, ...args]] : [bin, args];
}

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, SERVER_USER], { encoding: 'utf8' }).trim());
}

/** Clusters still running, stopped synchronously if the test process exits without its afterAll. */
const live = new Set<() => void>();
let exitHookInstalled = false;

/**
 * Creates (`initdb`, trust auth) and starts a Postgres cluster in a temporary directory of its
 * own, listening on 127.0.0.1 at a free port (and a Unix socket in that directory). As root, the
 * server programs run as the `postgres` OS user. `settings` are passed as `-c name=value`;
 * by default fsync is off (a stopped or killed server loses nothing the OS has; only a machine
 * crash would). Call `destroy()` in afterAll.
 */
export async function startPostgresServer(
  o: { port?: number; settings?: Record<string, string>; label?: string } = {},
): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), `ct-pg-${o.label ?? 'test'}-`));
  if (asRoot) chownSync(dir, idOf('-u'), idOf('-g'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const port = o.port ?? (await freePort());
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    fsync: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    ...o.settings,
  };
  const serverOptions = [`-p ${port}`, `-k ${dir}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(
    ' ',
  );

  const pgCtl = async (args: string[]) => {
    const [cmd, argv] = serverCommand(join(bin, 'pg_ctl'), ['-D', dataDir, ...args]);
    try {
      await run(cmd, argv, { timeout: 120_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      let log = '';
      try {
        log = readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
      } catch {
        // no log yet
      }
      throw new Error(`pg_ctl ${args.at(-1)} failed: ${e.stderr?.trim() || e.message}\n${log}`, { cause: err });
    }
  };
  const pid = (): number | undefined => {
    try {
      const n = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };
  let destroyed = false;
  const stopNow = () => {
    try {
      const [cmd, argv] = serverCommand(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      if (pid() !== undefined) execFileSync(cmd, argv, { stdio: 'ignore', timeout: 30_000 });
    } catch {
      // already down
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const [initCmd, initArgv] = serverCommand(join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  try {
    await run(initCmd, initArgv, { timeout: 120_000 });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(err as { stderr?: string }).stderr ?? String(err)}`, { cause: err });
  }
  live.add(stopNow);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const stop of live) stop();
    });
  }

  const server: PostgresServer = {
    port,
    dir,
    dataDir,
    logFile,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    pid,
    start: () => pgCtl(['-l', logFile, '-w', '-t', '120', '-o', serverOptions, 'start']),
    stop: (mode = 'fast') => pgCtl(['-m', mode, '-w', '-t', '120', 'stop']),
    async restart(mode = 'fast') {
      await server.stop(mode);
      await server.start();
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      live.delete(stopNow);
      if (pid() !== undefined) await server.stop('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (err) {
    await server.destroy();
    throw err;
  }
  return server;
}
