import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KV } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { openBuckets } from '@claimtrail/shared/nats';
import { createLogger } from '@claimtrail/shared';
import { newToken, tokenHash } from '@claimtrail/shared/identity';
import { createIngestApp } from './ingest.app.ts';
import { createKvTokenStore } from './token-store.ts';

// JetStream forgets msgIDs after its duplicate window; a retry later than that must still find the
// first attempt's events instead of storing them again. A window of 1 s makes "later" short.
const WINDOW_S = 1;
const pastTheWindow = () => sleep(WINDOW_S * 1000 + 500);

let env: TestEnv;
let kv: KV;
let ingest: Awaited<ReturnType<typeof createIngestApp>>;
const writer = newToken();

beforeAll(async () => {
  env = await createTestEnv('dupwindow', { duplicateWindowS: WINDOW_S });
  const buckets = await openBuckets(env.nc, env.stream);
  kv = buckets.idempotency;
  const tokens = createKvTokenStore(buckets.tokens);
  await tokens.put(tokenHash(writer), { principal: 'alice', scopes: ['report:write'] });
  ingest = await createIngestApp({
    nc: env.nc,
    idempotencyKv: buckets.idempotency,
    identitiesKv: buckets.identities,
    tokens,
    logger: createLogger('test', 'silent'),
    settings: { stream: env.stream, subjectPrefix: env.subjectPrefix, publishTimeoutMs: 2000, ratePerMinute: 100_000 },
  });
});
afterAll(async () => {
  await ingest?.close();
  await env?.cleanup();
});

async function lastSeq(): Promise<number> {
  return (await (await jetstreamManager(env.nc)).streams.info(env.stream)).state.last_seq;
}

const claim = (metric: string, value: number) => ({
  topic: 'dprk-troops-in-russia',
  metric,
  value: { kind: 'exact', value },
  source: { id: 'kr-nis', name: 'NIS', kind: 'intelligence_agency', country: 'KR' },
  statedAt: '2025-01',
});

/** A report of a new claim and an echo of an existing one, so both echo flags are checked. */
const reportOf = (url: string, newValue: number) => ({
  report: { url, publisher: 'Example Daily', publishedAt: '2025-02-21' },
  claims: [claim('killed', newValue), claim('wounded', 1)],
});

function post(body: unknown, headers: Record<string, string>) {
  return ingest.app.inject({
    method: 'POST',
    url: '/v1/reports',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${writer}`, ...headers },
    payload: JSON.stringify(body),
  });
}

/** The key of the idempotency record that the request with this id wrote. */
async function recordKeyOf(requestId: string): Promise<string> {
  for await (const k of await kv.keys('report.*')) {
    if ((await kv.get(k))?.json<{ requestId: string }>().requestId === requestId) return k;
  }
  throw new Error(`no idempotency record of request ${requestId}`);
}

beforeAll(async () => {
  // The claim the reports below echo.
  const original = await post(
    {
      report: { url: 'https://example.org/original', publisher: 'P', publishedAt: '2025-02-01' },
      claims: [claim('wounded', 1)],
    },
    {},
  );
  expect(original.statusCode).toBe(202);
});

describe.each([
  ['with an Idempotency-Key', 'dw-key'],
  ['without one (the body hash is the key)', undefined],
] as const)('a retry after the duplicate window, %s', (_name, header) => {
  const headers: Record<string, string> = header === undefined ? {} : { 'idempotency-key': header };
  const n = header === undefined ? 0 : 1;

  it('answers the stored first answer with duplicate: true and stores nothing', async () => {
    const body = reportOf(`https://example.org/answered-${n}`, 100 + n);
    const first = await post(body, headers);
    expect(first.statusCode).toBe(202);
    const a = first.json();
    expect(a.claims.map((c: { echo: boolean }) => c.echo)).toEqual([false, true]);
    const stored = await lastSeq();
    await pastTheWindow();
    const again = await post(body, headers);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ ...a, duplicate: true });
    expect(await lastSeq()).toBe(stored);
  });

  it('answers the first answer when the first attempt stored its events but not its answer', async () => {
    const body = reportOf(`https://example.org/unanswered-${n}`, 200 + n);
    const retryHeaders: Record<string, string> =
      header === undefined ? {} : { 'idempotency-key': `${header}-unanswered` };
    const first = await post(body, { ...retryHeaders, 'x-request-id': `unanswered-${n}` });
    expect(first.statusCode).toBe(202);
    const a = first.json();
    expect(a.claims.map((c: { echo: boolean }) => c.echo)).toEqual([false, true]);
    // What a process that stopped between JetStream's acknowledgements and storing the answer
    // leaves behind (or a write of the answer that failed): the key's record still pending.
    const k = await recordKeyOf(`unanswered-${n}`);
    const entry = await kv.get(k);
    const { response: _answer, ...record } = entry!.json<{ response?: unknown }>();
    await kv.put(k, JSON.stringify({ ...record, state: 'pending' }));
    const stored = await lastSeq();
    await pastTheWindow();

    const retry = await post(body, retryHeaders);
    expect(retry.json()).toEqual({ ...a, duplicate: true });
    expect(retry.statusCode).toBe(200);
    expect(await lastSeq()).toBe(stored);
    // The retry stored the first answer as the key's answer, not one of its own.
    expect((await kv.get(k))!.json<{ state: string; response: unknown }>()).toMatchObject({
      state: 'done',
      response: a,
    });
    const later = await post(body, retryHeaders);
    expect(later.json()).toEqual({ ...a, duplicate: true });
  });
});
