import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { serviceUrls } from '../testing/env.ts';
import { coalesceWrites } from './coalesce.ts';
import { connectNats } from './stream.ts';
import { nodeTransportOf } from './internals/node-transport.ts';

/** Counts the socket's write calls: one per flushed chunk (`_write`) or per batch of them (`_writev`). */
function countWrites(nc: NatsConnection) {
  const socket = nodeTransportOf(nc)!.socket as unknown as Record<string, unknown>;
  const counts = { calls: 0 };
  for (const k of ['_write', '_writev'] as const) {
    const f = socket[k] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof f !== 'function') continue;
    socket[k] = (...a: unknown[]) => {
      counts.calls += 1;
      return f.apply(socket, a);
    };
  }
  return counts;
}

/** `n` publishes, each from a task of its own in the same turn (as requests read from n sockets are). */
async function publishFromTasks(nc: NatsConnection, subject: string, n: number): Promise<void> {
  await new Promise<void>((resolve) => {
    let left = n;
    for (let i = 0; i < n; i += 1)
      setImmediate(() => {
        nc.publish(subject, `m${i}`);
        if (--left === 0) setImmediate(resolve);
      });
  });
}

let urls: Awaited<ReturnType<typeof serviceUrls>>;
const open: NatsConnection[] = [];
beforeAll(async () => {
  urls = await serviceUrls();
});
afterAll(async () => {
  for (const nc of open) await nc.close();
});

describe('coalesceWrites', () => {
  it('sends what tasks of one turn publish in one socket write, every message intact', async () => {
    const [plain, coalesced, reader] = await Promise.all(
      ['coalesce-plain', 'coalesce-on', 'coalesce-reader'].map((n) => connectNats(urls.natsUrl, n)),
    );
    open.push(plain!, coalesced!, reader!);
    expect(coalesceWrites(coalesced!)).toBe(true);
    const subject = `coalesce.test.${process.pid}`;
    const got: string[] = [];
    const sub = reader!.subscribe(subject, { callback: (_e, m) => void got.push(m.string()) });
    await reader!.flush();

    const before = countWrites(plain!);
    await publishFromTasks(plain!, subject, 20);
    await plain!.flush();
    const after = countWrites(coalesced!);
    await publishFromTasks(coalesced!, subject, 20);
    await coalesced!.flush();
    await reader!.flush();
    sub.unsubscribe();

    // Without it nats.js writes once per task; with it the turn's twenty publishes go together.
    expect(before.calls).toBeGreaterThanOrEqual(20);
    expect(after.calls).toBeLessThanOrEqual(2);
    const want = Array.from({ length: 20 }, (_, i) => `m${i}`);
    expect(got).toEqual([...want, ...want]);
  });

  it('keeps coalescing after a reconnect, on the new socket', async () => {
    const nc = await connectNats(urls.natsUrl, 'coalesce-reconnect');
    open.push(nc);
    expect(coalesceWrites(nc)).toBe(true);
    const transport = () => nodeTransportOf(nc)!;
    const first = transport();
    const reconnected = (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') return;
    })();
    (first.socket as unknown as Socket).destroy();
    await reconnected;
    // The status listener patches the new transport when the reconnect is reported.
    await new Promise((r) => setImmediate(r));
    expect(transport()).not.toBe(first);
    const writes = countWrites(nc);
    await publishFromTasks(nc, `coalesce.test.reconnect.${process.pid}`, 20);
    await nc.flush();
    expect(writes.calls).toBeLessThanOrEqual(2);
  });

  it('does nothing, and says so, on a connection with no socket to cork', () => {
    const fake = { protocol: { transport: { send: () => undefined } } } as unknown as NatsConnection;
    expect(coalesceWrites(fake)).toBe(false);
  });
});
