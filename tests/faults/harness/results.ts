import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One fault's figures: printed as one block and appended as one JSON line. */
export interface FaultResult {
  fault: string;
  at: string;
  /** The world's log directory (kept only with FAULT_KEEP=1). */
  logs: string;
  ratePerS: number;
  faultMs: number;
  reportsSent: number;
  reportsAcked: number;
  /** Acknowledged claims. */
  acknowledged: number;
  unacknowledged: number;
  rejected: number;
  lost: number;
  duplicated: number;
  apiMismatches: number;
  ledgerRepeats: number;
  deadLetters: number;
  /** Dead letters the fault itself makes (an undecodable message). */
  expectedDeadLetters: number;
  died: string[];
  auditExit: number;
  caughtUp: boolean;
  /** Write answers from the fault's start to the end of the load (`503+ra`: with Retry-After). */
  writes: Record<string, number>;
  /** Write answers that are neither 2xx nor 503 with Retry-After, over the whole run. */
  badWrites: Record<string, number>;
  /** Read answers (GET /v1/claims/{id}, every 100 ms) over the same window. */
  reads: Record<string, number>;
  /** From the fault's end to the first 2xx write answer. */
  recoverFirstWriteMs: number | null;
  /** From the fault's end to the projector's checkpoint equal to the stream's last seq. */
  recoverCheckpointMs: number | null;
  notes: Record<string, unknown>;
  /** The checks every fault must pass that this one failed (empty: no harm). */
  harm: string[];
}

const resultsFile =
  process.env.FAULT_RESULTS ?? fileURLToPath(new URL('../../artifacts/faults.jsonl', import.meta.url));

const hist = (h: Record<string, number>) =>
  Object.keys(h).length === 0
    ? '-'
    : Object.entries(h)
        .map(([k, v]) => `${k}×${v}`)
        .join(' ');
const secs = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(2)} s`);

/** The block a fault prints: its figures in a few aligned lines. */
export function formatResult(r: FaultResult): string {
  return [
    `fault ${r.fault}: ${r.harm.length === 0 ? 'ok' : `FAIL (${r.harm.join(', ')})`}`,
    `  acknowledged ${r.acknowledged} claims (${r.reportsAcked}/${r.reportsSent} reports, ${r.unacknowledged} unacknowledged, ${r.rejected} refused)  lost ${r.lost}  duplicated ${r.duplicated}  api mismatches ${r.apiMismatches}  dead letters ${r.deadLetters}`,
    `  writes during fault (${secs(r.faultMs)} + tail): ${hist(r.writes)}   not 2xx/503+ra: ${hist(r.badWrites)}`,
    `  reads during fault: ${hist(r.reads)}`,
    `  recovered: first 2xx write ${secs(r.recoverFirstWriteMs)}, checkpoint = last seq ${secs(r.recoverCheckpointMs)} after the fault ended`,
    `  died: ${r.died.length === 0 ? 'none' : r.died.join(', ')}   audit verify: exit ${r.auditExit}   caught up: ${r.caughtUp}`,
    ...(Object.keys(r.notes).length > 0 ? [`  notes: ${JSON.stringify(r.notes)}`] : []),
  ].join('\n');
}

/** Prints the block and appends the JSON line (FAULT_RESULTS, default tests/artifacts/faults.jsonl). */
export function recordResult(r: FaultResult): void {
  console.log(formatResult(r));
  mkdirSync(dirname(resultsFile), { recursive: true });
  appendFileSync(resultsFile, `${JSON.stringify(r)}\n`);
}
