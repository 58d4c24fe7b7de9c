import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { createLogger } from '../logger.ts';
import { tokenHash } from '../identity.ts';
import { createHttpApp } from './app.ts';
import { cachedTokenStore, type Principal, type TokenStore } from './auth.ts';

// The edge of both services, in-process (fastify.inject): an in-memory token store that counts
// its lookups stands for NATS KV and Postgres, which the ingest and query tests use for real.
const valid: Record<string, Principal> = {
  [tokenHash('writer-token')]: { principal: 'writer', scopes: ['report:write'] },
  [tokenHash('early-token')]: { principal: 'early', scopes: ['report:write'] },
};
let lookups = 0;
const store: TokenStore = {
  lookup(hash) {
    lookups += 1;
    return Promise.resolve(valid[hash]);
  },
};
let ready: string[] = [];
let app: Awaited<ReturnType<typeof createHttpApp>>['app'];

beforeAll(async () => {
  ({ app } = await createHttpApp({
    title: 't',
    description: 'd',
    logger: createLogger('test', 'silent'),
    readiness: () => Promise.resolve(ready),
    ratePerMinute: 100_000,
    authFailuresPerMinute: 20,
    tokens: cachedTokenStore(store),
  }));
  app.post('/w', { config: { scope: 'report:write' } }, (req) => Promise.resolve({ got: req.body }));
  app.get('/things/:id', () => Promise.resolve({ ok: true }));
  app.get('/page', (_req, reply) => {
    void reply.header('content-security-policy', "default-src 'self'");
    return Promise.resolve('<p>page</p>');
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
});

const post = (body: string | Buffer, headers: Record<string, string> = {}, remoteAddress = '10.0.0.9') =>
  app.inject({
    method: 'POST',
    url: '/w',
    remoteAddress,
    headers: { 'content-type': 'application/json', authorization: 'Bearer writer-token', ...headers },
    payload: body,
  });

function expectEdgeHeaders(res: LightMyRequestResponse) {
  expect(res.headers['x-request-id']).toMatch(/^[\x21-\x7e]{1,128}$/);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
}
function expectProblem(res: LightMyRequestResponse, status: number, path?: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expectEdgeHeaders(res);
  expect(res.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
  const p = res.json<{ status: number; title: string; detail: string; errors?: { path: string }[] }>();
  expect(p).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
  if (path !== undefined) expect(p.errors?.map((e) => e.path)).toContain(path);
  return p;
}

describe('the JSON body parser behind every route', () => {
  it('passes a valid body through', async () => {
    const res = await post('{"report":{"publisher":"P"}}');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ got: { report: { publisher: 'P' } } });
    expectEdgeHeaders(res);
  });

  it('refuses a duplicate key naming its path', async () => {
    const p = expectProblem(await post('{"report":{"publisher":"A","publisher":"B"}}'), 400, '/report/publisher');
    expect(p.detail).toMatch(/twice/);
  });

  it('refuses __proto__, constructor and prototype keys naming their paths', async () => {
    for (const key of ['__proto__', 'constructor', 'prototype'])
      expectProblem(await post(`{"report":{"${key}":{"polluted":true}}}`), 400, `/report/${key}`);
  });

  it('refuses invalid UTF-8 with 400 and a charset other than UTF-8 with 415', async () => {
    expectProblem(await post(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), 400, '/');
    expectProblem(
      await post('{"a":1}', { 'content-type': 'application/json; charset=latin1' }),
      415,
      'headers:/content-type',
    );
  });

  it('answers bodies that are empty, truncated, too large or of another type as problems', async () => {
    expectProblem(await post(''), 400);
    expectProblem(await post('{"a":'), 400);
    expectProblem(await post(`{"a":"${'x'.repeat(1024 * 1024)}"}`), 413);
    expectProblem(await post('a=1', { 'content-type': 'application/x-www-form-urlencoded' }), 415);
  });
});

describe('every answer carries the request id and the edge headers', () => {
  it('unknown routes, long path parameters and bad URLs are problems', async () => {
    expectProblem(await app.inject({ method: 'GET', url: '/nope' }), 404);
    expectProblem(await app.inject({ method: 'GET', url: `/things/${'x'.repeat(200)}` }), 414, 'path:/');
    expectProblem(await app.inject({ method: 'GET', url: '/things/%E0%A4%A' }), 400, 'path:/');
  });

  it('keeps the id a caller sent', async () => {
    const res = await app.inject({ method: 'GET', url: '/livez', headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers['x-request-id']).toBe('abc-123');
  });

  it('lets a page set its own Content-Security-Policy', async () => {
    const res = await app.inject({ method: 'GET', url: '/page' });
    expect(res.headers['content-security-policy']).toBe("default-src 'self'");
    expectEdgeHeaders(res);
  });

  it('/readyz answers 503 with Retry-After while something is down', async () => {
    ready = ['NATS unreachable'];
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    ready = [];
    expectProblem(res, 503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
  });
});

describe('failed authentications count against the address', () => {
  it('answers 429 without a lookup once an address failed its budget, and leaves valid tokens alone', async () => {
    // A valid token used before the flood, from the flooding address: it is known without a lookup.
    expect((await post('{}', { authorization: 'Bearer early-token' }, '10.0.0.1')).statusCode).toBe(200);
    const before = lookups;
    const answers = [];
    for (let i = 0; i < 100; i += 1)
      answers.push(await post('{}', { authorization: `Bearer made-up-${i}` }, '10.0.0.1'));
    const malformed = await post('{}', { authorization: 'Basic abc' }, '10.0.0.1');
    expect(lookups - before).toBe(20);
    expect(answers.slice(0, 20).map((a) => a.statusCode)).toEqual(Array(20).fill(401));
    for (const a of [...answers.slice(20), malformed]) {
      expectProblem(a, 429);
      expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect((await post('{}', { authorization: 'Bearer early-token' }, '10.0.0.1')).statusCode).toBe(200);
    // Another address is not blocked, and its valid token is looked up as usual.
    expect((await post('{}', {}, '10.0.0.2')).statusCode).toBe(200);
    expect((await post('{}', { authorization: 'Bearer made-up-x' }, '10.0.0.2')).statusCode).toBe(401);
  });
});
