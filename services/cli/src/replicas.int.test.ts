import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { bucketNames, connectNats, provisionStream } from '@claimtrail/shared/nats';
import { createTestEnv, startNatsCluster, type TestEnv } from '@claimtrail/shared/testing';
import { loadCliConfig } from './config.ts';
import { CliError, migrateEverything } from './runtime.ts';

let env: TestEnv;
let cluster: Awaited<ReturnType<typeof startNatsCluster>>;
let nc: NatsConnection;
let jsm: JetStreamManager;

const streamsOf = (stream: string) => {
  const b = bucketNames(stream);
  return [stream, `KV_${b.idempotency}`, `KV_${b.tokens}`, `KV_${b.identities}`];
};

/** The configuration a CLI run against the cluster would read from its environment. */
const configFor = (replicas: number) =>
  loadCliConfig({ ...env.env, NATS_URL: cluster.urls, CLAIMTRAIL_REPLICAS: String(replicas) });

/**
 * Stream info, asked again while the cluster is electing: a request that reaches a group without
 * a leader times out.
 */
async function infoOf(name: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await jsm.streams.info(name);
    } catch (err) {
      if (Date.now() > deadline || (err as Error).name !== 'TimeoutError') throw err;
    }
  }
}

async function replicasOf(stream: string) {
  return Promise.all(
    streamsOf(stream).map(async (s) => {
      const si = await infoOf(s);
      // While a group has no leader, the info lists every peer as a replica.
      const leader = si.cluster?.leader ? 1 : 0;
      return {
        stream: s,
        configured: si.config.num_replicas,
        peers: leader + (si.cluster?.replicas?.length ?? 0),
        leader: leader === 1,
      };
    }),
  );
}

/** Waits until every stream has `n` replicas configured, placed on `n` servers, one of them its leader. */
async function expectPlaced(stream: string, n: number) {
  let last: Awaited<ReturnType<typeof replicasOf>> = [];
  for (let i = 0; i < 300; i++) {
    last = await replicasOf(stream);
    if (last.every((r) => r.configured === n && r.peers === n && r.leader)) return;
    await sleep(100);
  }
  expect(last).toEqual(streamsOf(stream).map((s) => ({ stream: s, configured: n, peers: n, leader: true })));
}

async function refusal(work: Promise<unknown>): Promise<CliError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CliError);
  return err as CliError;
}

beforeAll(async () => {
  env = await createTestEnv('replicas');
  cluster = await startNatsCluster({ nodes: 3 });
  await cluster.ready();
  nc = await connectNats(cluster.urls, 'test-replicas');
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc?.close().catch(() => undefined);
  await cluster?.stop();
  await env?.cleanup();
});

describe('replicas on a 3-node cluster', () => {
  it('creates the stream and its buckets with CLAIMTRAIL_REPLICAS=3', async () => {
    const m = await migrateEverything(configFor(3), env.db, nc);
    expect(m.streamCreated).toBe(true);
    expect(m.replicas).toBe(3);
    expect(m.cluster.servers).toBe(3);
    await expectPlaced(env.stream, 3);
  });

  it('leaves existing replicas alone when a process starts with another CLAIMTRAIL_REPLICAS', async () => {
    const m = await migrateEverything(configFor(1), env.db, nc);
    expect(m.streamCreated).toBe(false);
    expect(m.replicas).toBe(3);
    await provisionStream(nc, {
      stream: env.stream,
      subjectPrefix: env.subjectPrefix,
      duplicateWindowS: 120,
      replicas: 1,
    });
    expect((await replicasOf(env.stream)).map((r) => r.configured)).toEqual([3, 3, 3, 3]);
  });

  it('changes the replicas of the stream and its buckets 3 → 1 → 3, keeping the events', async () => {
    const js = jetstream(nc);
    for (let i = 0; i < 20; i++) await js.publish(`${env.subjectPrefix}.claim.t.c${i}`, `e${i}`);
    const down = await migrateEverything(configFor(3), env.db, nc, { changeReplicasTo: 1 });
    expect(down.replicaChanges).toEqual(streamsOf(env.stream).map((s) => ({ stream: s, from: 3, to: 1 })));
    await expectPlaced(env.stream, 1);
    const up = await migrateEverything(configFor(1), env.db, nc, { changeReplicasTo: 3 });
    expect(up.replicaChanges).toEqual(streamsOf(env.stream).map((s) => ({ stream: s, from: 1, to: 3 })));
    expect(up.replicas).toBe(3);
    await expectPlaced(env.stream, 3);
    expect((await jsm.streams.info(env.stream)).state.messages).toBe(20);
  });

  it('refuses 5 replicas on 3 servers, naming both, and changes nothing', async () => {
    const err = await refusal(migrateEverything(configFor(3), env.db, nc, { changeReplicasTo: 5 }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(
      /^cannot keep 5 replicas of stream T_REPLICAS_\w+: the NATS cluster ct-\w+ has 3 servers/,
    );
    expect(err.message).toMatch(/each replica needs a server of its own/);
    expect((await replicasOf(env.stream)).map((r) => r.configured)).toEqual([3, 3, 3, 3]);
  });

  it('keeps every acknowledged event when the stream leader is killed, and writes again once a new leader is elected', async () => {
    const js = jetstream(nc, { timeout: 2000 });
    const { state, cluster: placed } = await infoOf(env.stream);
    const before = state.messages;
    const leaderName = placed?.leader;
    const leader = cluster.nodes.find((n) => n.name === leaderName);
    expect(leader).toBeDefined();
    await leader!.kill();
    expect(leader!.pid).toBeUndefined();
    let acked = 0;
    let refused = 0;
    let firstAckMs: number | undefined;
    const started = Date.now();
    while (acked < 10 && Date.now() - started < 30_000) {
      try {
        await js.publish(`${env.subjectPrefix}.claim.t.after${acked}`, `a${acked}`, {
          msgID: `after-${acked}`,
        });
        acked += 1;
        firstAckMs ??= Date.now() - started;
      } catch {
        refused += 1;
        await sleep(100);
      }
    }
    expect(acked).toBe(10);
    const info = await infoOf(env.stream);
    expect(info.cluster?.leader).not.toBe(leaderName);
    expect(info.state.messages).toBe(before + 10);
    await leader!.start();
    await cluster.ready();
    await expectPlaced(env.stream, 3);
    console.info(
      `stream leader ${leaderName} killed: ${refused} publishes refused, the first acknowledged after ${firstAckMs} ms`,
    );
  });
});

describe('replicas on a single server', () => {
  it('refuses more than one replica clearly, for a new stream and for an existing one', async () => {
    const single = loadCliConfig({ ...env.env, CLAIMTRAIL_REPLICAS: '3', CLAIMTRAIL_STREAM: `${env.stream}_S` });
    const created = await refusal(migrateEverything(single, env.db, env.nc));
    expect(created.exitCode).toBe(2);
    expect(created.message).toMatch(
      new RegExp(`^cannot keep 3 replicas of stream ${env.stream}_S: the NATS server is a single server`),
    );
    const shared = await jetstreamManager(env.nc);
    await expect(shared.streams.info(`${env.stream}_S`)).rejects.toThrow(/not found/);

    await migrateEverything(loadCliConfig(env.env), env.db, env.nc);
    const changed = await refusal(migrateEverything(loadCliConfig(env.env), env.db, env.nc, { changeReplicasTo: 3 }));
    expect(changed.exitCode).toBe(2);
    expect(changed.message).toMatch(
      new RegExp(`^cannot keep 3 replicas of streams ${env.stream}, KV_.*: the NATS server is a single server`),
    );
    for (const s of streamsOf(env.stream)) expect((await shared.streams.info(s)).config.num_replicas).toBe(1);
  });
});
