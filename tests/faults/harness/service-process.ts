import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  at: number;
}

/** One claimtrail service running as a child process, its output in a log file of its own. */
export interface ServiceProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Set once the process exited (expected or not). */
  readonly exit: ExitInfo | undefined;
  /** True when the harness stopped or killed it (a fault or the teardown). */
  readonly expectedExit: boolean;
  /** The log so far (stdout and stderr interleaved). */
  log(): string;
  /** Resolves with the first match of `re` in the log; rejects after `ms` or when the process exits first. */
  waitForLog(re: RegExp, ms?: number, from?: number): Promise<RegExpMatchArray>;
  /** Sends `signal` (the exit that follows is expected) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

/**
 * Starts `node <script> [...args]` with Node 24 (the test's own runtime) and `env`; stdout and
 * stderr go to `logFile`. The exit is recorded, so a check can tell a process that died on its own
 * from one the fault killed.
 */
export function startServiceProcess(o: {
  name: string;
  script: string;
  args?: string[];
  env: Record<string, string>;
  logFile: string;
}): ServiceProcess {
  const fd = openSync(o.logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, [o.script, ...(o.args ?? [])], {
    env: { ...process.env, ...o.env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${o.name} did not start`);
  let exit: ExitInfo | undefined;
  let expected = false;
  const exited = new Promise<ExitInfo>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal, at: Date.now() };
      resolve(exit);
    }),
  );
  const log = () => {
    try {
      return readFileSync(o.logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const proc: ServiceProcess = {
    name: o.name,
    pid: child.pid,
    logFile: o.logFile,
    get exit() {
      return exit;
    },
    get expectedExit() {
      return expected;
    },
    log,
    async waitForLog(re, ms = 60_000, from = 0) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = log().slice(from).match(re);
        if (m) return m;
        if (exit)
          throw new Error(
            `${o.name} exited (${exit.signal ?? `code ${exit.code}`}) before logging ${re}; see ${o.logFile}`,
          );
        if (Date.now() > deadline) throw new Error(`${o.name} did not log ${re} within ${ms} ms; see ${o.logFile}`);
        await sleep(100);
      }
    },
    async kill(signal = 'SIGKILL') {
      if (exit) return exit;
      expected = true;
      child.kill(signal);
      return exited;
    },
    async stop(graceMs = 10_000) {
      if (exit) return exit;
      expected = true;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const e = await exited;
      clearTimeout(timer);
      return e;
    },
  };
  return proc;
}

/** Polls `url` until it answers 200 (or `ms` passes, or `proc` exits). */
export async function waitForHttpOk(url: string, proc: ServiceProcess, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    if (proc.exit)
      throw new Error(
        `${proc.name} exited (${proc.exit.signal ?? `code ${proc.exit.code}`}) while starting:\n${tail(proc.log(), 20)}`,
      );
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready at ${url} within ${ms} ms (${last})`);
    await sleep(100);
  }
}

/** The last `n` lines of a text. */
export function tail(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
