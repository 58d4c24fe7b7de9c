import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, publishSyntheticEvents, syntheticEvents, type TestEnv } from '@claimtrail/shared/testing';
import { measureAuditMemory } from '../services/cli/src/audit-memory.ts';

// Replay and verify stream with bounded memory. The real CLI runs as child processes
// over 100,000 events and each one's peak resident memory (VmHWM) must stay under 300 MB; the
// bench runs the same measurement at 1,000,000 (measureAuditMemory).
const EVENTS = Number(process.env.CLAIMTRAIL_MEMORY_TEST_EVENTS ?? 100_000);
const LIMIT_MB = 300;
let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv('auditmem');
  await publishSyntheticEvents(
    env.nc,
    syntheticEvents({ count: EVENTS, prefix: env.subjectPrefix, seed: 'memory', actor: 'fill' }),
    2000,
  );
}, 300_000);

afterAll(async () => {
  await env?.cleanup();
});

it(
  `replays and verifies ${EVENTS} events with resident memory under ${LIMIT_MB} MB`,
  { timeout: 600_000 },
  async () => {
    const m = await measureAuditMemory({ ...process.env, ...env.env }, { events: EVENTS, into: 'claimtrail_mem' });
    process.stdout.write(
      `memory: replay of ${EVENTS} events peak RSS ${m.replay.peakMb} MB in ${(m.replay.elapsedMs / 1000).toFixed(1)}s (${m.replay.eventsPerSecond} events/s); audit verify peak RSS ${m.verify.peakMb} MB in ${(m.verify.elapsedMs / 1000).toFixed(1)}s\n`,
    );
    expect(m.replay.code, m.replay.stderr).toBe(0);
    const r = JSON.parse(m.replay.stdout) as { lastSeq: number; folded: number; promoted?: unknown };
    expect(r.lastSeq).toBe(EVENTS);
    expect(r.folded).toBe(EVENTS);
    expect(r.promoted).toBeDefined();
    expect(m.verify.code, m.verify.stderr).toBe(0);
    const v = JSON.parse(m.verify.stdout) as {
      ok: boolean;
      chain: { recomputed: number };
      ledger: { compared: number };
    };
    expect(v.ok).toBe(true);
    expect(v.chain.recomputed).toBe(EVENTS);
    expect(v.ledger.compared).toBe(EVENTS);
    // A real figure, not a failed read of /proc.
    expect(m.replay.peakMb).toBeGreaterThan(50);
    expect(m.replay.peakMb).toBeLessThan(LIMIT_MB);
    expect(m.verify.peakMb).toBeGreaterThan(50);
    expect(m.verify.peakMb).toBeLessThan(LIMIT_MB);
  },
);
