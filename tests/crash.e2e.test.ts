import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { migrateAll } from '@claimtrail/shared/db';
import {
  createTestEnv,
  publishSyntheticEvents,
  seededRandom,
  syntheticEvents,
  type TestEnv,
} from '@claimtrail/shared/testing';
import { readModelDigest } from './helpers/read-model-digest.ts';

const PROJECTOR = fileURLToPath(new URL('../services/projector/src/main.ts', import.meta.url));
const EVENTS = 10_000;
const KILLS = 20;

let env: TestEnv;
let lastSeq = 0;

function startProjector(extra: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [PROJECTOR], {
    env: { ...process.env, ...env.env, PROJECTOR_PORT: '0', LOG_LEVEL: 'error', ...extra },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.on('data', (d: Buffer) => process.stderr.write(`[projector] ${d.toString()}`));
  return child;
}

async function checkpoint(schema: string): Promise<number> {
  const r = await sql<{ last_seq: number }>`select last_seq from ${sql.table(`${schema}.checkpoint`)}`
    .execute(env.db)
    .catch(() => ({ rows: [] }));
  return Number(r.rows[0]?.last_seq ?? 0);
}

async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string) {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );
}

beforeAll(async () => {
  env = await createTestEnv('crash');
  ({ lastSeq } = await publishSyntheticEvents(
    env.nc,
    syntheticEvents({ count: EVENTS, prefix: env.subjectPrefix, seed: 7 }),
  ));
});
afterAll(async () => {
  await env?.cleanup();
});

describe('the projector killed with SIGKILL at random points', () => {
  it(`folds ${EVENTS} events through ${KILLS} kills into exactly what one uninterrupted fold gives`, async () => {
    expect(lastSeq).toBe(EVENTS);
    const rand = seededRandom(42);
    const live = 'claimtrail_rm';
    let kills = 0;
    const progressAtKill: number[] = [];
    // Small batches: many transactions, so a kill lands between or inside them.
    while (kills < KILLS) {
      const before = await checkpoint(live);
      const child = startProjector({ CLAIMTRAIL_BATCH_SIZE: '20' });
      await until(async () => (await checkpoint(live)) > before || child.exitCode !== null, 30_000, 'progress');
      expect(child.exitCode).toBeNull();
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 120)));
      child.kill('SIGKILL');
      await exited(child);
      kills += 1;
      progressAtKill.push(await checkpoint(live));
      if (progressAtKill.at(-1)! >= lastSeq) break;
    }
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    expect(progressAtKill.at(-1)).toBeLessThan(lastSeq);
    // Restarted once more, it finishes.
    const last = startProjector({ CLAIMTRAIL_BATCH_SIZE: '500' });
    await until(async () => (await checkpoint(live)) === lastSeq, 120_000, 'the interrupted fold to finish');
    last.kill('SIGTERM');
    await exited(last);

    // One uninterrupted fold of the same stream into a second set of read models.
    await migrateAll(env.db, 'refold');
    const clean = startProjector({ CLAIMTRAIL_SCHEMA: 'refold', CLAIMTRAIL_BATCH_SIZE: '500' });
    await until(async () => (await checkpoint('refold_rm')) === lastSeq, 120_000, 'the clean fold to finish');
    clean.kill('SIGTERM');
    await exited(clean);

    const a = await readModelDigest(env.db, live);
    const b = await readModelDigest(env.db, 'refold_rm');
    expect(a).toEqual(b);
    // Nothing applied twice: every stream message is in the ledger exactly once, every claim once.
    expect(a.event_ledger!.rows + a.event_repeats!.rows).toBe(EVENTS);
    const dupes = await sql<{ n: number }>`
      select count(*)::int as n from (select claim_id from ${sql.table(`${live}.claim_citations`)} group by claim_id, seq having count(*) > 1) d`.execute(
      env.db,
    );
    expect(dupes.rows[0]!.n).toBe(0);
    const claims = await sql<{
      n: number;
    }>`select count(distinct claim_id)::int as n from ${sql.table(`${live}.claim_versions`)}`.execute(env.db);
    expect(claims.rows[0]!.n).toBeGreaterThan(8000);
    expect(a.dead_letters!.rows).toBe(0);
  });
});
