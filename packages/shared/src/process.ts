import { ConfigError } from './errors.ts';

/** Loads a service's settings, or stops the process with a message naming the bad variable (exit 2). */
export function loadConfigOrExit<T>(service: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`claimtrail ${service}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** A connection URL fit to print: the password, if any, replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * Runs one step of a service's start-up (reaching Postgres or NATS, reading the active schema). If
 * it fails, the process stops with one line saying what it was doing (when the error does not say
 * so itself, as connectNats's does) and why (exit 1), not a stack trace:
 * `claimtrail projector: cannot read the database at postgres://…: database "x" does not exist`.
 */
export async function startOrExit<T>(service: string, step: () => Promise<T>, doing?: string): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`claimtrail ${service}: ${doing === undefined ? '' : `${doing}: `}${message}\n`);
    process.exit(1);
  }
}

/** Runs `stop` once on SIGTERM or SIGINT, then exits 0 (1 if stopping failed). */
export function onShutdown(
  log: { info(o: object, msg: string): void; error(o: object, msg: string): void },
  stop: () => Promise<void>,
): void {
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining');
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handle('SIGTERM'));
  process.on('SIGINT', () => handle('SIGINT'));
}

/**
 * Re-executes this process in place (same pid, signals and exit code) with V8 heap limits, unless
 * NODE_OPTIONS or the command line already sets one. Long-running folds allocate many short-lived
 * strings per batch; with V8's defaults that garbage is collected late and the process sits far
 * above its live data (docs/decisions/0004, 0010 and 0011). Returns only when no re-exec happened.
 */
export function ensureHeapLimits(flags: readonly string[]): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((a) => /^--max-(old|semi)-space-size\b/.test(a))) return;
  if (typeof process.execve !== 'function') return;
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)]);
}
