import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { openBuckets } from '@claimtrail/shared/nats';
import { createLogger } from '@claimtrail/shared';
import { newToken, tokenHash } from '@claimtrail/shared/identity';
import type { TokenStore } from '@claimtrail/shared/http';
import { createIngestApp } from './ingest.app.ts';
import { createKvTokenStore } from './token-store.ts';

let env: TestEnv;
let ingest: Awaited<ReturnType<typeof createIngestApp>>;
let tokens: ReturnType<typeof createKvTokenStore>;
/** Token lookups that reached the bucket, per hash. */
const lookups = new Map<string, number>();
const alice = newToken();
const bob = newToken();

async function ingestWith(settings: { ratePerMinute: number; requestTimeoutMs?: number }) {
  const buckets = await openBuckets(env.nc, env.stream);
  const counted: TokenStore = {
    lookup(hash) {
      lookups.set(hash, (lookups.get(hash) ?? 0) + 1);
      return tokens.lookup(hash);
    },
  };
  return createIngestApp({
    nc: env.nc,
    idempotencyKv: buckets.idempotency,
    identitiesKv: buckets.identities,
    tokens: counted,
    logger: createLogger('test', 'silent'),
    settings: { stream: env.stream, subjectPrefix: env.subjectPrefix, publishTimeoutMs: 2000, ...settings },
  });
}

beforeAll(async () => {
  env = await createTestEnv('hostile-input');
  tokens = createKvTokenStore((await openBuckets(env.nc, env.stream)).tokens);
  await tokens.put(tokenHash(alice), { principal: 'alice', scopes: ['report:write'] });
  // Bob is another writer: his keys are his own.
  await tokens.put(tokenHash(bob), { principal: 'bob', scopes: ['report:write'] });
  ingest = await ingestWith({ ratePerMinute: 100_000, requestTimeoutMs: 2000 });
});
afterAll(async () => {
  await ingest?.close();
  await env?.cleanup();
});

let n = 0;
const report = (url = `https://example.org/hostile/${(n += 1)}`) => ({
  report: { url, publisher: 'Example Daily', publishedAt: '2025-02-21' },
  claims: [
    {
      topic: 'hostile-input',
      metric: 'killed',
      value: { kind: 'exact', value: 100 + n },
      source: { id: 'kr-nis', name: 'NIS' },
      statedAt: '2025-01',
    },
  ],
});

type Answer = { statusCode: number; json(): any; headers: Record<string, unknown> };
function post(
  url: string,
  body: unknown,
  token: string,
  headers: Record<string, string> = {},
  app = ingest.app,
  remoteAddress = '127.0.0.1',
): Promise<Answer> {
  return app.inject({
    method: 'POST',
    url,
    remoteAddress,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    payload: JSON.stringify(body),
  });
}

describe('idempotency keys belong to the token that used them', () => {
  it("another token's identical Idempotency-Key is another key: no 409, no answer of the other's", async () => {
    const key = { 'idempotency-key': 'shared-key-1' };
    const mine = report();
    const first = await post('/v1/reports', mine, alice, key);
    expect(first.statusCode).toBe(202);
    // Before keys had owners, this answered 409 (and Alice's key was Bob's to take first).
    const theirs = await post('/v1/reports', report(), bob, key);
    expect(theirs.statusCode).toBe(202);
    expect(theirs.json().reportId).not.toBe(first.json().reportId);
    // Each token's key still works for it: a retry answers its own first answer; another body is 409.
    const retry = await post('/v1/reports', mine, alice, key);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toMatchObject({ reportId: first.json().reportId, duplicate: true });
    const bobsRetry = await post('/v1/reports', mine, bob, key);
    expect(bobsRetry.statusCode).toBe(409);
  });

  it("without a key, the body's hash is the key, and it is the token's too", async () => {
    const same = report();
    const a = await post('/v1/reports', same, alice);
    const b = await post('/v1/reports', same, bob);
    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
    expect(b.json().duplicate).toBe(false);
    expect(b.json().reportId).not.toBe(a.json().reportId);
    const again = await post('/v1/reports', same, bob);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ reportId: b.json().reportId, duplicate: true });
  });

  it('a correction with the same key by two tokens is two corrections; the retry of one is a duplicate', async () => {
    const made = await post('/v1/reports', report(), alice);
    const claimId = made.json().claims[0].claimId as string;
    const key = { 'idempotency-key': 'fix-1' };
    const url = `/v1/claims/${claimId}/corrections`;
    const a = await post(url, { changes: { quote: 'a' }, reason: 'r' }, alice, key);
    const b = await post(url, { changes: { quote: 'a' }, reason: 'r' }, bob, key);
    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
    expect(b.json().duplicate).toBe(false);
    expect(b.json().seq).toBeGreaterThan(a.json().seq);
    const retry = await post(url, { changes: { quote: 'a' }, reason: 'r' }, alice, key);
    expect(retry.json()).toMatchObject({ seq: a.json().seq, duplicate: true });
  });
});

describe('a flood of unknown tokens', () => {
  it('costs its address at most its budget of lookups, then 429 with Retry-After, and evicts no valid token', async () => {
    const limited = await ingestWith({ ratePerMinute: 30 });
    try {
      // Alice's token is looked up once and cached before the flood.
      expect((await post('/v1/reports', report(), alice, {}, limited.app, '10.1.1.1')).statusCode).toBe(202);
      const aliceLookups = lookups.get(tokenHash(alice));
      const made = Array.from({ length: 300 }, () => newToken());
      const flood = await Promise.all(made.map((t) => post('/v1/reports', report(), t, {}, limited.app, '10.6.6.6')));
      const statuses = flood.map((a) => a.statusCode);
      expect(statuses.filter((s) => s === 401)).toHaveLength(30);
      expect(statuses.filter((s) => s === 429)).toHaveLength(270);
      expect(made.filter((t) => lookups.has(tokenHash(t)))).toHaveLength(30);
      const refused = flood.find((a) => a.statusCode === 429)!;
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.json().detail).toMatch(/failed authentications/);
      // Alice, from another address, is still known without a lookup.
      expect((await post('/v1/reports', report(), alice, {}, limited.app, '10.1.1.1')).statusCode).toBe(202);
      expect(lookups.get(tokenHash(alice))).toBe(aliceLookups);
    } finally {
      await limited.close();
    }
  });
});

/** A raw HTTP/1.1 exchange on a real socket: writes `head`, then `body` chunks `everyMs` apart. */
async function rawExchange(
  port: number,
  head: string,
  o: { body?: string[]; everyMs?: number } = {},
): Promise<{ status: number; headers: Record<string, string>; body: string; ms: number }> {
  const t0 = Date.now();
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(head);
  let sending = true;
  void closed.then(() => (sending = false));
  for (const chunk of o.body ?? []) {
    await sleep(o.everyMs ?? 0);
    if (!sending) break;
    socket.write(chunk);
  }
  await Promise.race([closed, sleep(15_000)]);
  socket.destroy();
  const text = Buffer.concat(received).toString('utf8');
  const [headText = '', body = ''] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = headText.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body, ms: Date.now() - t0 };
}

describe('on a real socket, what Node and the router refuse is problem+json with a request id', () => {
  let port: number;
  beforeAll(async () => {
    await ingest.app.listen({ host: '127.0.0.1', port: 0 });
    port = (ingest.app.server.address() as AddressInfo).port;
  });

  function expectProblem(a: { status: number; headers: Record<string, string>; body: string }, status: number) {
    expect(a.status, a.body).toBe(status);
    expect(a.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(a.headers['x-request-id']).toBeTruthy();
    expect(a.headers['x-content-type-options']).toBe('nosniff');
    expect(a.headers['referrer-policy']).toBe('no-referrer');
    expect(a.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(JSON.parse(a.body)).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
  }

  it('headers past 16 KiB: 431', async () => {
    expectProblem(
      await rawExchange(port, `GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`),
      431,
    );
  });

  it('a URL past 16 KiB: 431', async () => {
    expectProblem(await rawExchange(port, `GET /livez?x=${'u'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), 431);
  });

  it('a path parameter past its limit: 414', async () => {
    const a = await rawExchange(
      port,
      `POST /v1/claims/${'x'.repeat(200)}/corrections HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    expectProblem(a, 414);
  });

  it('bytes that are not HTTP: 400', async () => {
    expectProblem(await rawExchange(port, 'HELLO THERE\r\n\r\n'), 400);
  });

  it('a body sent a byte a second is cut off after the request timeout with 408, naming the request', async () => {
    const a = await rawExchange(
      port,
      [
        'POST /v1/reports HTTP/1.1',
        'Host: x',
        'Content-Type: application/json',
        `Authorization: Bearer ${alice}`,
        'X-Request-Id: slow-body-1',
        'Content-Length: 100',
        '',
        '{',
      ].join('\r\n'),
      { body: Array.from({ length: 20 }, () => ' '), everyMs: 1000 },
    );
    expectProblem(a, 408);
    expect(a.headers['x-request-id']).toBe('slow-body-1');
    // 2 s allowed; Node checks every second.
    expect(a.ms).toBeGreaterThanOrEqual(2000);
    expect(a.ms).toBeLessThan(5000);
  });

  it('headers sent a line a second are cut off too', async () => {
    const a = await rawExchange(port, 'GET /livez HTTP/1.1\r\n', {
      body: Array.from({ length: 20 }, (_, i) => `X-Slow-${i}: 1\r\n`),
      everyMs: 1000,
    });
    expectProblem(a, 408);
    expect(a.ms).toBeLessThan(5000);
  });
});
