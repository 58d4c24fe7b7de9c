import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { expectNoHarm, faultWorlds, runFault } from './harness/fault-run.ts';

const world = faultWorlds();

describe('Postgres goes away under load', () => {
  it('stopped (-m immediate) for 10 s then started: query answers 503 + Retry-After while down and 200 within 2 s after; nothing lost, no process exits', async () => {
    const w = await world({ label: 'pg-stop' });
    let stoppedAt = 0;
    let startingAt = 0;
    let startedAt = 0;
    const run = await runFault({
      name: 'postgres-stopped-10s',
      world: w,
      async inject(ctx) {
        await w.pg.stop('immediate');
        stoppedAt = Date.now();
        await sleep(10_000);
        startingAt = Date.now();
        await w.pg.start();
        startedAt = Date.now();
        ctx.note('downMs', startedAt - stoppedAt);
      },
    });
    await w.close();
    const down = run.reads.filter((a) => a.at > stoppedAt + 500 && a.at < startingAt);
    const firstOk = run.reads.find((a) => a.at >= startedAt && a.status === 200);
    const readsWhileDown = {
      answered: down.length > 0,
      notServiceUnavailable: down.filter((a) => !(a.status === 503 && a.retryAfter)).map((a) => String(a.status)),
      okWithinMsOfStart: firstOk !== undefined && firstOk.at - startedAt <= 2000,
    };
    run.result.notes.firstReadOkMs = firstOk ? firstOk.at - startedAt : null;
    expect
      .soft(readsWhileDown, `first 200 read ${firstOk ? firstOk.at - startedAt : 'never'} ms after the start`)
      .toEqual({
        answered: true,
        notServiceUnavailable: [],
        okWithinMsOfStart: true,
      });
    expectNoHarm(run);
  });

  it('restarted (-m fast): nothing lost, no process exits', async () => {
    const w = await world({ label: 'pg-restart' });
    const run = await runFault({
      name: 'postgres-restarted',
      world: w,
      async inject() {
        await w.pg.restart('fast');
      },
    });
    await w.close();
    expectNoHarm(run);
  });
});
