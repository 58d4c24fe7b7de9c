import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startNatsServer } from './nats-server.ts';

let server: Awaited<ReturnType<typeof startNatsServer>> | undefined;
afterAll(async () => {
  await server?.stop();
});

async function roundTrip(url: string, timeout: number): Promise<number> {
  const nc = await connect({ servers: url, timeout, maxReconnectAttempts: 0 });
  try {
    const started = Date.now();
    await nc.flush();
    return Date.now() - started;
  } finally {
    await nc.close();
  }
}

describe('startNatsServer', () => {
  it('starts a JetStream server of its own that keeps its data across a kill and a start on the same port', async () => {
    server = await startNatsServer();
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(server.port).not.toBe(4222);
    const pid = server.pid;
    expect(pid).toBeGreaterThan(0);

    let nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'KEPT', subjects: ['kept.>'] });
    await jetstream(nc).publish('kept.a', 'one');
    await nc.close();

    await server.kill();
    expect(server.pid).toBeUndefined();
    await expect(roundTrip(server.url, 500)).rejects.toThrow();

    await server.start();
    expect(server.pid).toBeGreaterThan(0);
    expect(server.pid).not.toBe(pid);
    nc = await connect({ servers: server.url });
    const info = await (await jetstreamManager(nc)).streams.info('KEPT');
    expect(info.state.messages).toBe(1);
    await nc.close();
  });

  it('pauses (the server answers nothing) and resumes', async () => {
    const s = server!;
    s.pause();
    await expect(roundTrip(s.url, 1000)).rejects.toThrow();
    s.resume();
    expect(await roundTrip(s.url, 5000)).toBeLessThan(5000);
  });

  it('stop kills it and removes its directory', async () => {
    const s = server!;
    const dir = (s as unknown as { dir: string }).dir;
    expect(existsSync(dir)).toBe(true);
    await s.stop();
    server = undefined;
    expect(s.pid).toBeUndefined();
    expect(existsSync(dir)).toBe(false);
  });
});
