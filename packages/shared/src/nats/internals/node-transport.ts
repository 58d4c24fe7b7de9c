import type { NatsConnection } from '@nats-io/transport-node';

/**
 * The one place that reaches into nats.js for a connection's socket. Written for
 * @nats-io/nats-core 3.4.0 and @nats-io/transport-node 3.4.0 (both pinned exactly in
 * package.json): a NatsConnection's `protocol.transport` is the NodeTransport, whose `socket` is
 * the connection's net.Socket and whose `send(frame)` writes a frame to it; a reconnect makes a
 * new transport. None of it is nats.js's public API; node-transport.int.test.ts fails when it
 * changes. Feature-detected: another version or transport gives undefined, never a crash.
 */
export interface CorkableSocket {
  cork(): void;
  uncork(): void;
  destroyed?: boolean;
}

export interface NodeTransport {
  socket?: CorkableSocket;
  send(frame: Uint8Array): void;
}

/** The connection's current transport with a socket that corks, or undefined when this nats.js has none. */
export function nodeTransportOf(nc: NatsConnection): NodeTransport | undefined {
  const t = (nc as unknown as { protocol?: { transport?: unknown } }).protocol?.transport as NodeTransport | undefined;
  const s = t?.socket;
  if (!t || typeof t.send !== 'function' || !s || typeof s.cork !== 'function' || typeof s.uncork !== 'function')
    return undefined;
  return t;
}
