import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { serviceUrls } from '../../testing/env.ts';
import { connectNats } from '../stream.ts';
import { nodeTransportOf } from './node-transport.ts';

let urls: Awaited<ReturnType<typeof serviceUrls>>;
const open: NatsConnection[] = [];
beforeAll(async () => {
  urls = await serviceUrls();
});
afterAll(async () => {
  for (const nc of open) await nc.close();
});

/** What coalesceWrites takes from nats.js beyond its API (node-transport.ts names the version). */
describe("the nats.js internals behind a connection's socket", () => {
  it('a connection has protocol.transport, with send and the net.Socket the client writes to', async () => {
    const nc = await connectNats(urls.natsUrl, 'internals-transport');
    open.push(nc);
    const raw = (nc as unknown as { protocol?: { transport?: { socket?: unknown; send?: unknown } } }).protocol
      ?.transport;
    expect(raw, 'NatsConnection.protocol.transport').toBeDefined();
    expect(typeof raw!.send, 'transport.send').toBe('function');
    expect(raw!.socket, 'transport.socket').toBeInstanceOf(Socket);
    const t = nodeTransportOf(nc);
    expect(t).toBe(raw);
    // A write through send reaches the server: a request through the same socket is answered.
    const written: Uint8Array[] = [];
    const send = t!.send.bind(t);
    t!.send = (frame) => {
      written.push(frame);
      send(frame);
    };
    await nc.flush();
    expect(written.length).toBeGreaterThan(0);
    t!.send = send;
  });

  it('a reconnect makes a new transport on a new socket', async () => {
    const nc = await connectNats(urls.natsUrl, 'internals-reconnect');
    open.push(nc);
    const first = nodeTransportOf(nc)!;
    const reconnected = (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') return;
    })();
    (first.socket as unknown as Socket).destroy();
    await reconnected;
    const next = nodeTransportOf(nc);
    expect(next).toBeDefined();
    expect(next).not.toBe(first);
    expect(next!.socket).toBeInstanceOf(Socket);
    expect(next!.socket).not.toBe(first.socket);
  });

  it('is undefined, not a crash, for a connection without them', () => {
    expect(nodeTransportOf({} as NatsConnection)).toBeUndefined();
    expect(nodeTransportOf({ protocol: { transport: { send: () => undefined } } } as unknown as NatsConnection)).toBe(
      undefined,
    );
  });
});
