import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { expectNoHarm, faultWorlds, runFault } from './harness/fault-run.ts';
import { PROJECTOR_RUNNING, PROJECTOR_STANDING_BY, until } from './harness/fault-world.ts';
import type { ServiceProcess } from './harness/service-process.ts';

const world = faultWorlds();
const KILLS = 10;

/** Whether `p` logged that it leads (again) after log offset `from`. */
const leadsSince = (p: ServiceProcess, from: number) => PROJECTOR_RUNNING.test(p.log().slice(from));

describe('the projector fails under load', () => {
  it(`SIGKILLed ${KILLS} times (restarted after each): nothing lost or applied twice`, async () => {
    const w = await world({ label: 'projector-kills' });
    const run = await runFault({
      name: 'projector-sigkill-x10',
      world: w,
      async inject(ctx) {
        const killedAfterMs: number[] = [];
        for (let i = 0; i < KILLS; i += 1) {
          const current = w.projectors.at(-1)!;
          // Killed while it folds: once it leads, at a random point of its work.
          await current.waitForLog(PROJECTOR_RUNNING, 60_000);
          const ms = 200 + Math.floor(Math.random() * 1000);
          await sleep(ms);
          await current.kill('SIGKILL');
          killedAfterMs.push(ms);
          await w.startProjector();
        }
        ctx.note('killedAfterRunningMs', killedAfterMs);
      },
    });
    await w.close();
    expectNoHarm(run);
  });

  it('the active projector SIGKILLed with a standby running: the standby takes over', async () => {
    const w = await world({ label: 'projector-standby' });
    const [active] = w.projectors;
    const standby = await w.startProjector();
    await standby.waitForLog(PROJECTOR_STANDING_BY, 60_000);
    const standbyLogAt = standby.log().length;
    let tookOver = false;
    const run = await runFault({
      name: 'projector-standby-takeover',
      world: w,
      async inject(ctx) {
        await active!.kill('SIGKILL');
        ctx.faultOver();
        const t0 = Date.now();
        tookOver = await until(() => Promise.resolve(leadsSince(standby, standbyLogAt)), 60_000, 50);
        ctx.note('takeoverMs', tookOver ? Date.now() - t0 : null);
      },
    });
    await w.close();
    expect.soft(tookOver, 'the standby logged "projector running" after the kill').toBe(true);
    expectNoHarm(run);
  });

  it('the lock connection terminated with a standby running: one leader at a time, nothing lost', async () => {
    const w = await world({ label: 'projector-lock' });
    const [first] = w.projectors;
    const standby = await w.startProjector();
    await standby.waitForLog(PROJECTOR_STANDING_BY, 60_000);
    const firstLogAt = first!.log().length;
    const standbyLogAt = standby.log().length;
    let terminated = 0;
    const run = await runFault({
      name: 'projector-lock-terminated',
      world: w,
      tailMs: 10_000,
      async inject(ctx) {
        // The leader idle when it loses the lock: the standby then finds the consumer as the leader
        // left it and shares it with a leader that goes on (without fencing), instead of replacing it.
        ctx.load.pause();
        const idle = await until(async () => (await w.checkpoint()) >= (await w.streamLastSeq()), 10_000, 50);
        ctx.note('leaderIdleBeforeFault', idle);
        // The leader's lock connection only: the standby's, which polls for the lock, stays up and
        // can take the lock at once, the case fencing is for.
        const r = await w.pool.query<{ ok: boolean }>(
          `select pg_terminate_backend(pid) as ok from pg_stat_activity
            where application_name = 'claimtrail-projector-lock'
              and pid in (select pid from pg_locks where locktype = 'advisory' and granted)`,
        );
        terminated = r.rows.filter((x) => x.ok).length;
        ctx.faultOver();
        ctx.note('lockConnectionsTerminated', terminated);
        const t0 = Date.now();
        const someoneLeads = await until(
          () => Promise.resolve(leadsSince(first!, firstLogAt) || leadsSince(standby, standbyLogAt)),
          30_000,
          50,
        );
        ctx.note('reelectedMs', someoneLeads ? Date.now() - t0 : null);
        ctx.load.resume();
        ctx.note('ledAgain', {
          [first!.name]: leadsSince(first!, firstLogAt),
          [standby.name]: leadsSince(standby, standbyLogAt),
        });
      },
    });
    await w.close();
    expect.soft(terminated, 'lock connections terminated').toBe(1);
    expectNoHarm(run);
  });
});
