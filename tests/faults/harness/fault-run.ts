import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect } from 'vitest';
import { checkAfterFault, type CheckOutcome } from './checker.ts';
import { createFaultWorld, type FaultWorld, type FaultWorldOptions } from './fault-world.ts';
import { histogram, startLoad, startProber, type Answer, type Load } from './load.ts';
import { recordResult, type FaultResult } from './results.ts';

export interface FaultContext {
  world: FaultWorld;
  load: Load;
  /** Ends the fault now (otherwise it ends when `inject` returns): recovery is timed from here. */
  faultOver(): void;
  /** A figure of this fault, printed and kept with the result. */
  note(key: string, value: unknown): void;
  /** The quote a claim answers with after the fault changed it (a correction). */
  expectedQuote: Map<string, string>;
}

export interface FaultRun {
  result: FaultResult;
  check: CheckOutcome;
  load: Load;
  /** GET /v1/claims/{id} every 100 ms, from the first acknowledged claim to the end of the load. */
  reads: Answer[];
  faultStart: number;
  faultEnd: number;
  world: FaultWorld;
}

/** Whether an answer is what the contract allows a write: 2xx, or 503 with Retry-After. */
function allowedWrite(a: Answer): boolean {
  return typeof a.status === 'number' && ((a.status >= 200 && a.status < 300) || (a.status === 503 && a.retryAfter));
}

const envNumber = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

/**
 * Worlds made through the returned function are closed in this file's afterAll even when a test
 * failed or timed out half-way.
 */
export function faultWorlds(): (o: FaultWorldOptions) => Promise<FaultWorld> {
  const open = new Set<FaultWorld>();
  afterAll(async () => {
    await Promise.all([...open].map((w) => w.close()));
  });
  return async (o) => {
    const w = await createFaultWorld(o);
    open.add(w);
    const close = w.close.bind(w);
    w.close = async () => {
      open.delete(w);
      await close();
    };
    return w;
  };
}

/**
 * Runs one fault under load: an open-loop load (FAULT_RATE reports/s, default 25, 2 claims each)
 * and a reader start; after `warmupMs` the fault is injected; the load goes on for `tailMs` after
 * the fault ends, then stops sending and waits for every report to be acknowledged; then the
 * checks. Prints and records the figures; asserts nothing (see expectNoHarm).
 */
export async function runFault(o: {
  name: string;
  world: FaultWorld;
  inject(ctx: FaultContext): Promise<void>;
  warmupMs?: number;
  tailMs?: number;
  drainMs?: number;
  catchUpMs?: number;
  /** Events the fault makes that the projector must park (default 0). */
  deadLetters?: number;
}): Promise<FaultRun> {
  const { world } = o;
  const ratePerS = envNumber('FAULT_RATE', 25);
  const load = startLoad({
    ingestUrl: world.ingestUrl,
    token: world.token,
    ratePerS,
    claimsPerReport: 2,
    label: o.name,
  });
  const firstReadableAt = { t: 0 };
  const prober = startProber({
    baseUrl: world.queryUrl,
    token: world.token,
    everyMs: 100,
    // The first claim, once the projector had a moment to fold it: a 404 before that says nothing.
    path: () => {
      const c = load.firstAcked();
      if (!c) return undefined;
      firstReadableAt.t ||= Date.now() + 1000;
      return Date.now() >= firstReadableAt.t ? `/v1/claims/${c.claimId}` : undefined;
    },
  });
  const notes: Record<string, unknown> = {};
  const expectedQuote = new Map<string, string>();
  let faultEnd: number | undefined;
  let caughtUpAt: number | undefined;
  let monitoring = true;
  let monitor: Promise<void> = Promise.resolve();
  let check: CheckOutcome;
  let unacknowledged: number;
  await sleep(o.warmupMs ?? 3000);
  const faultStart = Date.now();
  try {
    await o.inject({
      world,
      load,
      faultOver: () => void (faultEnd ??= Date.now()),
      note: (k, v) => void (notes[k] = v),
      expectedQuote,
    });
    faultEnd ??= Date.now();
    // Time to catch up, seen from the outside while the load goes on.
    monitor = (async () => {
      while (monitoring && caughtUpAt === undefined) {
        try {
          const last = await world.streamLastSeq();
          if ((await world.checkpoint()) >= last) caughtUpAt = Date.now();
        } catch {
          // Postgres or NATS still away
        }
        await sleep(200);
      }
    })();
    await sleep(o.tailMs ?? 5000);
  } finally {
    faultEnd ??= Date.now();
    load.stopSending();
    unacknowledged = (await load.drain(o.drainMs ?? 60_000, () => world.ingest.exit !== undefined)).unacknowledged;
    await prober.stop();
  }
  const loadEnd = Date.now();
  try {
    check = await checkAfterFault(world, load.acked(), {
      expectedQuote,
      ...(o.catchUpMs === undefined ? {} : { catchUpMs: o.catchUpMs }),
    });
  } finally {
    monitoring = false;
    await monitor;
  }
  caughtUpAt ??= check.caughtUpAt;
  const firstWrite = load.answers.find(
    (a) => a.at >= faultEnd! && typeof a.status === 'number' && a.status >= 200 && a.status < 300,
  );
  const result: FaultResult = {
    fault: o.name,
    at: new Date(faultStart).toISOString(),
    logs: world.dir,
    ratePerS,
    faultMs: faultEnd - faultStart,
    reportsSent: load.reports.length,
    reportsAcked: load.reports.filter((r) => r.ackedAt !== undefined).length,
    acknowledged: load.acked().length,
    unacknowledged,
    rejected: load.reports.filter((r) => r.rejected).length,
    lost: check.lost.length,
    duplicated: check.duplicated.length,
    apiMismatches: Object.keys(check.api).length,
    ledgerRepeats: check.ledgerRepeats,
    deadLetters: check.deadLetters.length,
    expectedDeadLetters: o.deadLetters ?? 0,
    died: check.died.map((d) => `${d.name} (${d.signal ?? `exit ${d.code}`})`),
    auditExit: check.audit.code,
    caughtUp: check.caughtUp,
    writes: histogram(load.answers, faultStart, loadEnd),
    badWrites: histogram(load.answers.filter((a) => !allowedWrite(a))),
    reads: histogram(prober.answers, faultStart, loadEnd),
    recoverFirstWriteMs: firstWrite ? firstWrite.at - faultEnd : null,
    recoverCheckpointMs: caughtUpAt === undefined ? null : Math.max(0, caughtUpAt - faultEnd),
    notes,
    harm: [],
  };
  const { got, want } = harmFigures(result);
  result.harm = Object.keys(want).filter((k) => JSON.stringify(got[k]) !== JSON.stringify(want[k]));
  recordResult(result);
  return { result, check, load, reads: prober.answers, faultStart, faultEnd, world };
}

/** The figures every fault must keep, and what they must be. */
function harmFigures(r: FaultResult): { got: Record<string, unknown>; want: Record<string, unknown> } {
  return {
    got: {
      lost: r.lost,
      duplicated: r.duplicated,
      ledgerRepeats: r.ledgerRepeats,
      apiMismatches: r.apiMismatches,
      unacknowledged: r.unacknowledged,
      rejected: r.rejected,
      badWrites: r.badWrites,
      caughtUp: r.caughtUp,
      died: r.died,
      deadLetters: r.deadLetters,
      auditExit: r.auditExit,
    },
    want: {
      lost: 0,
      duplicated: 0,
      ledgerRepeats: 0,
      apiMismatches: 0,
      unacknowledged: 0,
      rejected: 0,
      badWrites: {},
      caughtUp: true,
      died: [],
      deadLetters: r.expectedDeadLetters,
      auditExit: 0,
    },
  };
}

/**
 * The promise every fault must keep: every acknowledged claim is in Postgres exactly once and
 * answered by the API, every report was acknowledged in the end (none refused), every write answer
 * was 2xx or 503 with Retry-After, the projector caught up, no process died on its own, nothing
 * was parked but what the fault made unreadable, and `claimtrail audit verify` passes. One
 * comparison, so a failure shows every figure at once.
 */
export function expectNoHarm(run: FaultRun): void {
  const { result: r, check } = run;
  const sample = <T>(xs: T[]) => xs.slice(0, 5);
  const { got, want } = harmFigures(r);
  const details = [
    `logs: ${r.logs} (kept with FAULT_KEEP=1)`,
    check.lost.length ? `lost, e.g. ${sample(check.lost).join(' ')}` : '',
    check.duplicated.length ? `duplicated, e.g. ${sample(check.duplicated).join(' ')}` : '',
    Object.keys(check.api).length
      ? `api, e.g. ${JSON.stringify(Object.fromEntries(sample(Object.entries(check.api))))}`
      : '',
    check.deadLetters.length ? `dead letters, e.g. ${JSON.stringify(sample(check.deadLetters))}` : '',
    ...check.died.map((d) => `${d.name} died (${d.signal ?? `exit ${d.code}`}):\n${d.log}`),
    check.audit.code !== 0 ? `audit verify (exit ${check.audit.code}):\n${check.audit.summary}` : '',
    `checkpoint ${check.checkpoint}, stream last seq ${check.streamLastSeq}`,
  ]
    .filter(Boolean)
    .join('\n');
  expect(got, details).toEqual(want);
}
