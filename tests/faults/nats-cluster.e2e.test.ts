import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { expectNoHarm, faultWorlds, runFault } from './harness/fault-run.ts';
import { STREAM } from './harness/fault-world.ts';

const world = faultWorlds();

describe('a 3-node NATS cluster with CLAIMTRAIL_REPLICAS=3', () => {
  it('the stream leader SIGKILLed for 25 s then restarted: writes go on, nothing acknowledged is lost', async () => {
    const w = await world({ label: 'nats-r3', natsNodes: 3, env: { CLAIMTRAIL_REPLICAS: '3' } });
    const jsm = await jetstreamManager(w.nc);
    const replicas: Record<string, number> = {};
    for (const s of [STREAM, `KV_${STREAM}_idempotency`, `KV_${STREAM}_tokens`, `KV_${STREAM}_identities`])
      replicas[s] = (await jsm.streams.info(s)).config.num_replicas;
    const run = await runFault({
      name: 'nats-r3-leader-killed-25s',
      world: w,
      async inject(ctx) {
        ctx.note('replicas', replicas);
        const leaderName = (await jsm.streams.info(STREAM)).cluster?.leader;
        const leader = w.natsNodes.find((n) => n.name === leaderName);
        if (!leader) throw new Error(`no node is the stream's leader (${leaderName})`);
        ctx.note('killed', leader.name);
        await leader.kill('SIGKILL');
        await sleep(25_000);
        await leader.start();
        ctx.faultOver();
        await w.natsReady();
        ctx.note('newLeader', (await jsm.streams.info(STREAM)).cluster?.leader);
      },
    });
    await w.close();
    expect.soft(replicas, 'the replicas of the stream and its buckets').toEqual({
      [STREAM]: 3,
      [`KV_${STREAM}_idempotency`]: 3,
      [`KV_${STREAM}_tokens`]: 3,
      [`KV_${STREAM}_identities`]: 3,
    });
    expectNoHarm(run);
  });
});
