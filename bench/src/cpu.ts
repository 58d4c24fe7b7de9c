// Where the machine's CPU goes during a measurement: CPU time of named process groups (a pid and
// its descendants, or every process of a name: nats-server, postgres) and of the whole machine,
// read from /proc. It turns a rate into CPU per event, which is what says whether a goal can be
// reached on this machine at all (docs/performance.md). Linux only; elsewhere the
// meter reports nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { BenchContext } from './context.ts';
import { addFigure } from './product.ts';

/** USER_HZ: /proc reports CPU times in these ticks (100 on every Linux this runs on). */
const TICKS_PER_S = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may hold spaces; the fields after it are space-separated.
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const f = text.slice(close + 2).split(' ');
    // After comm: state(0) ppid(1) … utime(11) stime(12).
    return { pid, ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

function allStats(): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const s = readStat(Number(n));
    if (s) out.push(s);
  }
  return out;
}

/** Which processes a group holds: a pid with its descendants, or every process with this name. */
export type ProcessGroup = { pid: number } | { name: string };

/** The processes of a group: every process of the name, or the pid and its descendants. */
function members(stats: ProcStat[], g: ProcessGroup): ProcStat[] {
  if ('name' in g) return stats.filter((s) => s.comm === g.name);
  const pids = new Set([g.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const s of stats)
      if (pids.has(s.ppid) && !pids.has(s.pid)) {
        pids.add(s.pid);
        grew = true;
      }
  }
  return stats.filter((s) => pids.has(s.pid));
}

/** The pids of a process's children now (Linux; elsewhere none). */
export function childPids(pid: number): number[] {
  return allStats()
    .filter((s) => s.ppid === pid)
    .map((s) => s.pid);
}

/**
 * CPU ticks a group used between two readings, process by process: a process that started in
 * between counts from zero, one that ended in between is left out (its last ticks are lost, which
 * undercounts a little; summing totals instead went negative when a busy process ended).
 */
function groupDelta(before: ProcStat[], after: ProcStat[], g: ProcessGroup): number {
  const was = new Map(before.map((s) => [s.pid, s.ticks]));
  let sum = 0;
  for (const s of members(after, g)) sum += Math.max(0, s.ticks - (was.get(s.pid) ?? 0));
  return sum;
}

/**
 * The machine's ticks from /proc/stat: busy, all, and of the busy ones those in the kernel
 * (system, irq, softirq), where page faults and system calls go.
 */
function machineTicks(): { busy: number; total: number; kernel: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const kernel = (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0);
    return { busy: total - idle, total, kernel };
  } catch {
    return { busy: 0, total: 0, kernel: 0 };
  }
}

export interface CpuReading {
  seconds: number;
  /** Cores each group kept busy on average (CPU seconds / wall seconds). */
  cores: Record<string, number>;
  /** Cores the whole machine kept busy, and how many it has. */
  machineCores: number;
  capacity: number;
  /** The share of the machine's busy time spent in the kernel (0–1). */
  kernelShare: number;
}

/** Starts measuring; `stop()` gives the cores each group used since. */
export function startCpuMeter(groups: Record<string, ProcessGroup>): { stop(): CpuReading } {
  const t0 = performance.now();
  const s0 = allStats();
  const m0 = machineTicks();
  return {
    stop() {
      const seconds = (performance.now() - t0) / 1000;
      const s1 = allStats();
      const m1 = machineTicks();
      const cores: Record<string, number> = {};
      for (const [k, g] of Object.entries(groups)) cores[k] = groupDelta(s0, s1, g) / TICKS_PER_S / seconds;
      const capacity = availableParallelism();
      const total = m1.total - m0.total;
      const busy = m1.busy - m0.busy;
      return {
        seconds,
        cores,
        machineCores: total > 0 ? (busy / total) * capacity : 0,
        capacity,
        kernelShare: busy > 0 ? (m1.kernel - m0.kernel) / busy : 0,
      };
    },
  };
}

/** CPU microseconds per event of each group, and of the whole machine, at `eventsPerSecond`. */
export function cpuPerEvent(r: CpuReading, eventsPerSecond: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, c] of Object.entries(r.cores)) out[k] = (c * 1e6) / eventsPerSecond;
  out.machine = (r.machineCores * 1e6) / eventsPerSecond;
  return out;
}

/**
 * Adds `<name>.cpu.<group>` figures in CPU µs per event (one sample a repetition), plus
 * `<name>.cpu.machine`: the whole machine's busy time per event, and `<name>.cpu.machine.kernel`:
 * the share of it in the kernel (a machine whose page faults or system calls are dear shows here).
 */
export function addCpuFigures(
  ctx: BenchContext,
  name: string,
  reps: { reading: CpuReading; eventsPerSecond: number }[],
  note: string,
): void {
  if (reps.length === 0 || reps[0]!.reading.capacity === 0) return;
  const per = reps.map((r) => cpuPerEvent(r.reading, r.eventsPerSecond));
  for (const k of Object.keys(per[0]!))
    addFigure(
      ctx,
      `${name}.cpu.${k}`,
      'µs/event',
      per.map((p) => p[k]!),
      k === 'machine'
        ? `busy CPU time of the whole machine (${reps[0]!.reading.capacity} cores) per event; ${note}`
        : `CPU time of ${k} per event; ${note}`,
    );
  addFigure(
    ctx,
    `${name}.cpu.machine.kernel`,
    '%',
    reps.map((r) => r.reading.kernelShare * 100),
    `share of the machine's busy time spent in the kernel (system, irq, softirq in /proc/stat); ${note}`,
  );
}
