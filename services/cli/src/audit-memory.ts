import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The `claimtrail` command as users run it (with its heap limits for the long commands). */
export const CLI_BIN = fileURLToPath(new URL('../bin/claimtrail.js', import.meta.url));

export interface MeasuredRun {
  args: string[];
  code: number | null;
  stdout: string;
  stderr: string;
  /** Peak resident memory of the process (VmHWM from /proc), in MB; null where /proc is missing. */
  peakMb: number | null;
  elapsedMs: number;
}

async function hwmKb(pid: number): Promise<number | undefined> {
  const s = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const m = s === undefined ? undefined : /VmHWM:\s+(\d+)/.exec(s);
  return m ? Number(m[1]) : undefined;
}

/**
 * Runs the real CLI (`node services/cli/bin/claimtrail.js …`) as a child process with `env` and
 * samples its peak resident memory (VmHWM, the kernel's high-water mark, so a sample every
 * 50 ms misses nothing but the last 50 ms) until it exits.
 */
export async function runCliMeasured(args: string[], env: Record<string, string | undefined>): Promise<MeasuredRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let peakKb: number | undefined;
  const sample = async () => {
    const kb = child.pid === undefined ? undefined : await hwmKb(child.pid);
    if (kb !== undefined && kb > (peakKb ?? 0)) peakKb = kb;
  };
  const timer = setInterval(() => void sample(), 50);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  }).finally(() => clearInterval(timer));
  return {
    args,
    code,
    stdout,
    stderr,
    peakMb: peakKb === undefined ? null : Math.round(peakKb / 1024),
    elapsedMs: performance.now() - started,
  };
}

export interface AuditMemory {
  events: number;
  replay: MeasuredRun & { eventsPerSecond: number | null };
  verify: MeasuredRun & { ok: boolean | null };
}

/**
 * The audit's memory figure: `claimtrail replay --into <into> --json` and then
 * `claimtrail audit verify --json` over the whole stream named by `env` (CLAIMTRAIL_STREAM,
 * DATABASE_URL, …), each as its own child process, with each one's peak resident memory. The
 * stream must already hold the events (e.g. from `publishSyntheticEvents`) and the database be migrated. For
 * the test at 100,000 events and the bench at 1,000,000.
 */
export async function measureAuditMemory(
  env: Record<string, string | undefined>,
  o: { events: number; into?: string; promote?: boolean },
): Promise<AuditMemory> {
  const into = o.into ?? 'claimtrail_memory';
  const replay = await runCliMeasured(
    ['replay', '--into', into, ...(o.promote === false ? [] : ['--promote']), '--json'],
    env,
  );
  let eventsPerSecond: number | null = null;
  try {
    eventsPerSecond = (JSON.parse(replay.stdout) as { eventsPerSecond: number }).eventsPerSecond;
  } catch {
    // the run failed: code and stderr tell why
  }
  const verify = await runCliMeasured(['audit', 'verify', '--json'], env);
  let ok: boolean | null = null;
  try {
    ok = (JSON.parse(verify.stdout) as { ok: boolean }).ok;
  } catch {
    // the run failed: code and stderr tell why
  }
  return { events: o.events, replay: { ...replay, eventsPerSecond }, verify: { ...verify, ok } };
}
