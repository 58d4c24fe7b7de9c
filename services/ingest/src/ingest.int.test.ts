import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { openBuckets, connectNats } from '@claimtrail/shared/nats';
import { createLogger } from '@claimtrail/shared';
import { newToken, tokenHash } from '@claimtrail/shared/identity';
import { createIngestApp } from './ingest.app.ts';
import { createKvTokenStore } from './token-store.ts';

let env: TestEnv;
let ingest: Awaited<ReturnType<typeof createIngestApp>>;

type IngestSettings = Parameters<typeof createIngestApp>[0]['settings'];

/** An ingest app on this file's stream and buckets, with some of its settings changed. */
async function ingestWith(settings: Partial<IngestSettings>, logger = createLogger('test', 'silent')) {
  const buckets = await openBuckets(env.nc, env.stream);
  return createIngestApp({
    nc: env.nc,
    idempotencyKv: buckets.idempotency,
    identitiesKv: buckets.identities,
    tokens: createKvTokenStore(buckets.tokens),
    logger,
    settings: {
      stream: env.stream,
      subjectPrefix: env.subjectPrefix,
      publishTimeoutMs: 2000,
      ratePerMinute: 100_000,
      ...settings,
    },
  });
}
const writer = newToken();
const reader = newToken();
const admin = newToken();

const report = (over: Record<string, unknown> = {}, claimOver: Record<string, unknown> = {}) => ({
  report: { url: 'https://example.org/a', publisher: 'Example Daily', publishedAt: '2025-02-21', ...over },
  claims: [
    {
      topic: 'dprk-troops-in-russia',
      metric: 'killed',
      value: { kind: 'approx', value: 300 },
      source: { id: 'kr-nis', name: 'NIS', kind: 'intelligence_agency', country: 'KR' },
      statedAt: '2025-01',
      ...claimOver,
    },
  ],
});

async function lastSeq(): Promise<number> {
  const jsm = await jetstreamManager(env.nc);
  return (await jsm.streams.info(env.stream)).state.last_seq;
}

function post(url: string, body: unknown, headers: Record<string, string> = {}, token: string | null = writer) {
  return ingest.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

beforeAll(async () => {
  env = await createTestEnv('ingest');
  const buckets = await openBuckets(env.nc, env.stream);
  const tokens = createKvTokenStore(buckets.tokens);
  await tokens.put(tokenHash(writer), { principal: 'alice', scopes: ['report:write'] });
  await tokens.put(tokenHash(reader), { principal: 'bob', scopes: ['read'] });
  await tokens.put(tokenHash(admin), { principal: 'root', scopes: ['admin'] });
  ingest = await ingestWith({});
});
afterAll(async () => {
  await ingest?.close();
  await env?.cleanup();
});

describe('POST /v1/reports: bad input is a 4xx naming the field, and stores nothing', () => {
  const cases: [string, () => Promise<{ statusCode: number; json(): any }>, number, string | RegExp][] = [
    ['an unknown top-level field', () => post('/v1/reports', { ...report(), extra: 1 }), 400, '/extra'],
    ['an unknown nested field', () => post('/v1/reports', report({}, { colour: 'red' })), 400, '/claims/0/colour'],
    [
      'a wrong value kind',
      () => post('/v1/reports', report({}, { value: { kind: 'roughly', value: 3 } })),
      400,
      '/claims/0/value/kind',
    ],
    [
      'low above high',
      () => post('/v1/reports', report({}, { value: { kind: 'range', low: 5, high: 4 } })),
      400,
      '/claims/0/value/low',
    ],
    [
      'a negative number',
      () => post('/v1/reports', report({}, { value: { kind: 'exact', value: -1 } })),
      400,
      '/claims/0/value/value',
    ],
    [
      'seven decimals',
      () => post('/v1/reports', report({}, { value: { kind: 'exact', value: 1.1234567 } })),
      400,
      '/claims/0/value/value',
    ],
    [
      'a number above 1e15',
      () => post('/v1/reports', report({}, { value: { kind: 'exact', value: 2e15 } })),
      400,
      '/claims/0/value/value',
    ],
    ['U+0000 in a quote', () => post('/v1/reports', report({}, { quote: 'a\u0000b' })), 400, '/claims/0/quote'],
    [
      'an unpaired surrogate',
      () =>
        post(
          '/v1/reports',
          '{"report":{"url":"https://x.org/","publisher":"P\\ud800","publishedAt":"2025"},"claims":[]}',
        ),
      400,
      '/report/publisher',
    ],
    ['a bidi control', () => post('/v1/reports', report({ publisher: 'Evil\u202Eredli' })), 400, '/report/publisher'],
    ['a bad date', () => post('/v1/reports', report({ publishedAt: '2025-13' })), 400, '/report/publishedAt'],
    ['a relative URL', () => post('/v1/reports', report({ url: '/a/b' })), 400, '/report/url'],
    ['a bad topic slug', () => post('/v1/reports', report({}, { topic: 'Bad Topic' })), 400, '/claims/0/topic'],
    [
      'validFrom after validTo',
      () => post('/v1/reports', report({}, { validFrom: '2025-03', validTo: '2025-01' })),
      400,
      '/claims/0/validFrom',
    ],
    ['no claims', () => post('/v1/reports', { ...report(), claims: [] }), 400, '/claims'],
    [
      '501 claims',
      () => post('/v1/reports', { ...report(), claims: Array.from({ length: 501 }, () => report().claims[0]) }),
      400,
      '/claims',
    ],
    ['a body that is not JSON', () => post('/v1/reports', '{"report":'), 400, /JSON/i],
    ['a 2 MiB body', () => post('/v1/reports', report({ title: 'x'.repeat(2 * 1024 * 1024) })), 413, /1 MiB/],
    ['no token', () => post('/v1/reports', report(), {}, null), 401, /bearer token/],
    ['an unknown token', () => post('/v1/reports', report(), {}, newToken()), 401, /unknown/],
    ['a token without report:write', () => post('/v1/reports', report(), {}, reader), 403, /report:write/],
    [
      'a bad Idempotency-Key',
      () => post('/v1/reports', report(), { 'idempotency-key': 'x'.repeat(129) }),
      400,
      /idempotency-key/,
    ],
  ];
  it.each(cases)('%s', async (_name, send, status, mention) => {
    const before = await lastSeq();
    const res = await send();
    expect(res.statusCode).toBe(status);
    const body = res.json();
    expect(body).toMatchObject({
      status,
      title: expect.any(String),
      type: expect.any(String),
      detail: expect.any(String),
    });
    const text = JSON.stringify(body);
    if (typeof mention === 'string') expect(body.errors.map((e: { path: string }) => e.path)).toContain(mention);
    else expect(text).toMatch(mention);
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    expect(await lastSeq()).toBe(before);
  });
});

describe('POST /v1/reports: idempotency and echoes', () => {
  it('answers 202 with seqs once every event is acknowledged, then 200 duplicate for the same key', async () => {
    const body = report({ url: 'https://example.org/idem' });
    const first = await post('/v1/reports', body, { 'idempotency-key': 'k-1' });
    expect(first.statusCode).toBe(202);
    const a = first.json();
    expect(a).toMatchObject({ duplicate: false, reportId: expect.stringMatching(/^rpt_/) });
    expect(a.claims[0]).toMatchObject({ echo: false, claimId: expect.stringMatching(/^clm_/) });
    expect(await lastSeq()).toBe(a.lastSeq);
    const again = await post('/v1/reports', body, { 'idempotency-key': 'k-1' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ ...a, duplicate: true });
    expect(await lastSeq()).toBe(a.lastSeq);
  });

  it('answers 409 to the same key with a different body', async () => {
    await post('/v1/reports', report({ url: 'https://example.org/k2' }), { 'idempotency-key': 'k-2' });
    const before = await lastSeq();
    const res = await post('/v1/reports', report({ url: 'https://example.org/other' }), { 'idempotency-key': 'k-2' });
    expect(res.statusCode).toBe(409);
    expect(await lastSeq()).toBe(before);
  });

  it('uses the body hash as the key when the header is absent', async () => {
    const body = report(
      { url: 'https://example.org/nokey' },
      { metric: 'wounded', value: { kind: 'exact', value: 2700 } },
    );
    const first = await post('/v1/reports', body);
    expect(first.statusCode).toBe(202);
    const second = await post('/v1/reports', body);
    expect(second.statusCode).toBe(200);
    expect(second.json().duplicate).toBe(true);
  });

  it('makes a repeated estimate in another report an echo of the same claim', async () => {
    const original = await post(
      '/v1/reports',
      report(
        { url: 'https://example.org/orig' },
        { metric: 'deployed', value: { kind: 'range', low: 10000, high: 12000 } },
      ),
    );
    const echo = await post(
      '/v1/reports',
      report(
        { url: 'https://example.org/copy' },
        { metric: 'deployed', value: { kind: 'range', low: 10000, high: 12000 } },
      ),
    );
    expect(echo.statusCode).toBe(202);
    expect(echo.json().claims[0]).toMatchObject({ claimId: original.json().claims[0].claimId, echo: true });
    const different = await post(
      '/v1/reports',
      report(
        { url: 'https://example.org/new' },
        { metric: 'deployed', value: { kind: 'range', low: 10000, high: 13000 } },
      ),
    );
    expect(different.json().claims[0].echo).toBe(false);
    expect(different.json().claims[0].claimId).not.toBe(original.json().claims[0].claimId);
  });
});

describe('corrections and retractions', () => {
  it('404 for an unknown claim, 400 for a malformed id, and 409 for retracting twice', async () => {
    const unknown = await post('/v1/claims/clm_000000000000000000000000/corrections', {
      changes: { quote: 'x' },
      reason: 'r',
    });
    expect(unknown.statusCode).toBe(404);
    const bad = await post('/v1/claims/nope/corrections', { changes: { quote: 'x' }, reason: 'r' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('params:/claimId');
    const empty = await post('/v1/claims/clm_000000000000000000000000/corrections', { changes: {}, reason: 'r' });
    expect(empty.statusCode).toBe(400);

    const made = (
      await post(
        '/v1/reports',
        report({ url: 'https://example.org/retract' }, { metric: 'wounded', value: { kind: 'exact', value: 1 } }),
      )
    ).json();
    const id = made.claims[0].claimId as string;
    const corr = await post(`/v1/claims/${id}/corrections`, {
      changes: { value: { kind: 'exact', value: 2 } },
      reason: 'typo',
    });
    expect(corr.statusCode).toBe(202);
    expect(corr.json()).toMatchObject({ claimId: id, seq: expect.any(Number) });
    const r1 = await post(`/v1/claims/${id}/retractions`, { reason: 'withdrawn', by: 'source' });
    expect(r1.statusCode).toBe(202);
    const r2 = await post(`/v1/claims/${id}/retractions`, { reason: 'withdrawn', by: 'editor' });
    expect(r2.statusCode).toBe(409);
    const late = await post(`/v1/claims/${id}/corrections`, { changes: { quote: 'late' }, reason: 'after retraction' });
    expect(late.statusCode).toBe(409);
  });

  it('serialises concurrent corrections through the claim subject (each lands once, in order)', async () => {
    const made = (
      await post(
        '/v1/reports',
        report({ url: 'https://example.org/conc' }, { metric: 'wounded', value: { kind: 'exact', value: 5 } }),
      )
    ).json();
    const id = made.claims[0].claimId as string;
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) =>
        post(`/v1/claims/${id}/corrections`, {
          changes: { value: { kind: 'exact', value: 10 + n } },
          reason: `fix ${n}`,
        }),
      ),
    );
    for (const r of results) expect(r.statusCode).toBe(202);
    const seqs = results.map((r) => r.json().seq as number);
    expect(new Set(seqs).size).toBe(4);
  });
});

describe('a claim subject holding messages that are not events', () => {
  it('skips them, logs each once, and the claim stays correctable and retractable', async () => {
    const lines: { msg: string; seq?: number; subject?: string; reason?: string }[] = [];
    const logger = createLogger('test', 'warn', { write: (line: string) => void lines.push(JSON.parse(line)) });
    const app = await ingestWith({}, logger);
    const send = (url: string, body: unknown) =>
      app.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${writer}` },
        payload: JSON.stringify(body),
      });
    try {
      const made = (
        await send(
          '/v1/reports',
          report({ url: 'https://example.org/poison' }, { metric: 'wounded', value: { kind: 'exact', value: 77 } }),
        )
      ).json();
      const id = made.claims[0].claimId as string;
      // Anyone with publish rights on the stream's subjects can do this, with the raw client.
      const js = jetstream(env.nc);
      const poison = [
        await js.publish(`${env.subjectPrefix}.claim.dprk-troops-in-russia.${id}`, 'not json'),
        await js.publish(`${env.subjectPrefix}.claim.dprk-troops-in-russia.${id}`, '{"type":"NoSuchEvent","data":{}}'),
        // The same claim id under another topic: not this claim's subject.
        await js.publish(`${env.subjectPrefix}.claim.another-topic.${id}`, 'not json either'),
      ].map((ack) => ack.seq);

      const corr = await send(`/v1/claims/${id}/corrections`, {
        changes: { value: { kind: 'exact', value: 78 } },
        reason: 'typo',
      });
      expect(corr.statusCode).toBe(202);
      const retr = await send(`/v1/claims/${id}/retractions`, { reason: 'withdrawn', by: 'source' });
      expect(retr.statusCode).toBe(202);
      expect(retr.json().seq).toBeGreaterThan(corr.json().seq);
      // The retraction took: the claim is retracted now.
      expect((await send(`/v1/claims/${id}/corrections`, { changes: { quote: 'x' }, reason: 'r' })).statusCode).toBe(
        409,
      );

      // Read three times, logged once each, naming the seq and why.
      const skipped = lines.filter((l) => /^skipped message/.test(l.msg));
      expect(skipped.map((l) => l.seq).sort((a, b) => a! - b!)).toEqual(poison);
      expect(skipped.find((l) => l.seq === poison[0])?.reason).toMatch(/not JSON/);
      expect(skipped.find((l) => l.seq === poison[1])?.reason).toMatch(/envelope invalid/);
    } finally {
      await app.close();
    }
  });
});

describe('POST /v1/metrics', () => {
  it('needs the admin scope and rejects self-composition', async () => {
    const m = {
      metric: 'killed_or_wounded',
      label: 'Killed or wounded',
      aggregation: 'cumulative',
      composedOf: ['killed', 'wounded'],
    };
    expect((await post('/v1/metrics', m)).statusCode).toBe(403);
    // Claims above defined both parts already (cumulative, in persons, labelled with their names).
    for (const part of ['killed', 'wounded'])
      expect(
        (await post('/v1/metrics', { metric: part, label: part, aggregation: 'cumulative' }, {}, admin)).json(),
      ).toMatchObject({ duplicate: true });
    const ok = await post('/v1/metrics', m, {}, admin);
    expect(ok.statusCode).toBe(202);
    expect(ok.json().seq).toBeGreaterThan(0);
    const selfish = await post('/v1/metrics', { ...m, composedOf: ['killed_or_wounded', 'killed'] }, {}, admin);
    expect(selfish.statusCode).toBe(400);
  });
});

describe('when JetStream does not acknowledge', () => {
  it('answers 503 with Retry-After, and the retry with the same key stores the report once', async () => {
    // A subject no stream captures but a silent subscriber answers nothing: publishes time out.
    const prefix = `${env.subjectPrefix}x`;
    const nc2 = await connectNats(env.natsUrl, 'silent');
    const sub = nc2.subscribe(`${prefix}.>`);
    const slow = await ingestWith({ subjectPrefix: prefix, publishTimeoutMs: 300 });
    const body = JSON.stringify(report({ url: 'https://example.org/timeout' }));
    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${writer}`,
      'idempotency-key': 'timeout-1',
    };
    const res = await slow.app.inject({ method: 'POST', url: '/v1/reports', headers, payload: body });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.json().detail).toMatch(/retry/i);
    sub.unsubscribe();
    await nc2.close();
    await slow.close();

    // The same key against the real stream: stored once.
    const before = await lastSeq();
    const retry = await ingest.app.inject({ method: 'POST', url: '/v1/reports', headers, payload: body });
    expect(retry.statusCode).toBe(202);
    const again = await ingest.app.inject({ method: 'POST', url: '/v1/reports', headers, payload: body });
    expect(again.statusCode).toBe(200);
    expect(await lastSeq()).toBe(before + 3);
  });
});

describe('when no stream takes the subjects', () => {
  it('answers 503 naming the stream at once, without waiting for the publish timeout', async () => {
    // A timeout far beyond the test's own: only the server's no-responders answer ends it in time.
    const nowhere = await ingestWith({ subjectPrefix: `${env.subjectPrefix}nowhere`, publishTimeoutMs: 600_000 });
    try {
      const res = await nowhere.app.inject({
        method: 'POST',
        url: '/v1/reports',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${writer}` },
        payload: JSON.stringify(report({ url: 'https://example.org/nowhere' })),
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      expect(res.json().detail).toMatch(
        new RegExp(`no stream takes ${env.subjectPrefix}nowhere\\..* \\(is stream ${env.stream} there\\?\\)`),
      );
    } finally {
      await nowhere.close();
    }
  });
});

describe('the service edge', () => {
  it('rate-limits per token with 429, Retry-After and a problem body', async () => {
    const limited = await ingestWith({ ratePerMinute: 2 });
    try {
      const send = (token: string) =>
        limited.app.inject({
          method: 'POST',
          url: '/v1/reports',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          payload: '{}',
        });
      expect((await send(writer)).statusCode).toBe(400);
      expect((await send(writer)).statusCode).toBe(400);
      const third = await send(writer);
      expect(third.statusCode).toBe(429);
      expect(third.headers['retry-after']).toBeDefined();
      expect(third.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(third.json()).toMatchObject({ status: 429, detail: expect.stringMatching(/rate limit/) });
      // Another token has its own budget.
      expect((await send(reader)).statusCode).toBe(403);
    } finally {
      await limited.close();
    }
  });

  it('answers a non-JSON content type with 415', async () => {
    const res = await ingest.app.inject({
      method: 'POST',
      url: '/v1/reports',
      headers: { authorization: `Bearer ${writer}`, 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().status).toBe(415);
  });

  it('publishes OpenAPI 3.1 generated from the schemas, and health endpoints', async () => {
    const doc = (await ingest.app.inject({ url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/reports',
        '/v1/claims/{claimId}/corrections',
        '/v1/claims/{claimId}/retractions',
        '/v1/metrics',
        '/v1/topics',
      ]),
    );
    expect(JSON.stringify(doc.paths['/v1/reports'].post.requestBody)).toContain('intelligence_agency');
    expect(JSON.stringify(doc.paths['/v1/reports'].post.requestBody)).toContain('at_least');
    expect((await ingest.app.inject({ url: '/livez' })).statusCode).toBe(200);
    expect((await ingest.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    const metrics = await ingest.app.inject({ url: '/metrics' });
    expect(metrics.body).toContain('http_requests_total');
  });
});
