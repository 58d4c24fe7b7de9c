import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsNode } from '@claimtrail/shared/testing';
import { coalesceWrites, connectNats, openBuckets, provisionStream } from '@claimtrail/shared/nats';
import { createLogger } from '@claimtrail/shared';
import { newToken, tokenHash } from '@claimtrail/shared/identity';
import { createIngestApp } from './ingest.app.ts';
import { createKvTokenStore } from './token-store.ts';

// A nats-server of this file's own, so it can be paused and killed without touching the shared one.
const STREAM = 'CT_OUTAGE';
const PREFIX = 'ct';
const TOKEN_CACHE_MS = 5000;

let node: NatsNode & { stop(): Promise<void> };
let nc: NatsConnection;
let ingest: Awaited<ReturnType<typeof createIngestApp>>;
const logLines: { msg: string; err?: { message?: string } }[] = [];
const writer = newToken();
const admin = newToken();
/** Tokens no request used before the outage: their lookups go to NATS during it. */
const unused = [newToken(), newToken(), newToken()];

beforeAll(async () => {
  node = await startNatsServer();
  nc = await connectNats(node.url, 'ingest-outage-test');
  coalesceWrites(nc);
  await provisionStream(nc, { stream: STREAM, subjectPrefix: PREFIX, duplicateWindowS: 120 });
  const buckets = await openBuckets(nc, STREAM);
  const tokens = createKvTokenStore(buckets.tokens);
  await tokens.put(tokenHash(writer), { principal: 'alice', scopes: ['report:write'] });
  await tokens.put(tokenHash(admin), { principal: 'root', scopes: ['admin'] });
  for (const t of unused) await tokens.put(tokenHash(t), { principal: 'carol', scopes: ['report:write'] });
  ingest = await createIngestApp({
    nc,
    idempotencyKv: buckets.idempotency,
    identitiesKv: buckets.identities,
    tokens,
    logger: createLogger('test', 'warn', { write: (line: string) => void logLines.push(JSON.parse(line)) }),
    settings: { stream: STREAM, subjectPrefix: PREFIX, publishTimeoutMs: 1000, ratePerMinute: 100_000 },
  });
});
afterAll(async () => {
  node?.resume();
  await ingest?.close();
  await nc?.close();
  await node?.stop();
});

let reports = 0;
const report = () => ({
  report: { url: `https://example.org/outage/${(reports += 1)}`, publisher: 'P', publishedAt: '2025-02-21' },
  claims: [
    {
      topic: 'dprk-troops-in-russia',
      metric: 'killed',
      value: { kind: 'exact', value: 1000 + reports },
      source: { id: 'kr-nis', name: 'NIS' },
      statedAt: '2025-01',
    },
  ],
});

interface Answer {
  what: string;
  status: number;
  retryAfter: string | undefined;
  detail: string | undefined;
  ms: number;
}

async function send(what: string, url: string, body: unknown, token: string): Promise<Answer> {
  const t0 = Date.now();
  const res = await ingest.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    payload: JSON.stringify(body),
  });
  const retryAfter = res.headers['retry-after'];
  return {
    what,
    status: res.statusCode,
    retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
    detail: res.statusCode >= 400 ? res.json<{ detail?: string }>().detail : undefined,
    ms: Date.now() - t0,
  };
}

const postReport = (token: string, what = 'report') => send(what, '/v1/reports', report(), token);

/** Every answer a 503 with Retry-After, and one log line for each, carrying the error behind it. */
function expectUnavailable(answers: Answer[], logFrom: number) {
  for (const a of answers) {
    expect(a, a.what).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/) });
    expect(a.detail, a.what).toMatch(/retry/);
  }
  const logged = logLines.slice(logFrom).filter((l) => /^answered 503/.test(l.msg));
  expect(logged).toHaveLength(answers.length);
  for (const l of logged) expect(l.err?.message).toBeTruthy();
}

/** Posts until one answers 2xx; every answer on the way is a 503 with Retry-After, never a 500. */
async function untilAccepted(token: string, withinMs: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  const deadline = Date.now() + withinMs;
  for (;;) {
    const a = await postReport(token, 'report while NATS returns');
    answers.push(a);
    if (a.status < 300) return answers;
    expect(a, 'an answer while NATS returns').toMatchObject({ status: 503, retryAfter: expect.any(String) });
    if (Date.now() > deadline) throw new Error(`no 2xx within ${withinMs} ms: ${JSON.stringify(answers.at(-1))}`);
    await sleep(200);
  }
}

describe('ingest while its NATS server is down', () => {
  let claimId: string;

  it('answers 503 with Retry-After on every path while NATS hangs (SIGSTOP), and 2xx once it answers again', async () => {
    const made = await ingest.app.inject({
      method: 'POST',
      url: '/v1/reports',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${writer}` },
      payload: JSON.stringify(report()),
    });
    expect(made.statusCode).toBe(202);
    // The writer's token is in the cache from now on, for TOKEN_CACHE_MS.
    const cachedAt = Date.now();
    claimId = made.json<{ claims: { claimId: string }[] }>().claims[0]!.claimId;

    node.pause();
    const logFrom = logLines.length;
    // The writer's token is cached: these fail on the stream. The others' lookups go to NATS,
    // five requests of one token sharing one lookup.
    const first = await Promise.all([
      postReport(writer, 'report, cached token'),
      send('correction', `/v1/claims/${claimId}/corrections`, { changes: { quote: 'q' }, reason: 'r' }, writer),
      send('retraction', `/v1/claims/${claimId}/retractions`, { reason: 'r', by: 'editor' }, writer),
      send(
        'metric, uncached token',
        '/v1/metrics',
        { metric: 'captured', label: 'Captured', aggregation: 'cumulative' },
        admin,
      ),
      ...Array.from({ length: 5 }, () => postReport(unused[0]!, 'report, uncached token')),
    ]);
    expectUnavailable(first, logFrom);
    // A token lookup gives up after the buckets' 1 s timeout (KV_REQUEST_TIMEOUT_MS), not nats.js's 5 s.
    for (const a of first.filter((x) => /uncached/.test(x.what))) expect(a.ms, a.what).toBeLessThan(2500);

    // Past the token cache: the writer's token is looked up again (these were 500s).
    await sleep(Math.max(0, cachedAt + TOKEN_CACHE_MS + 200 - Date.now()));
    const logFrom2 = logLines.length;
    const expired = await Promise.all(Array.from({ length: 5 }, () => postReport(writer, 'report, expired token')));
    expectUnavailable(expired, logFrom2);
    for (const a of expired) expect(a.ms, a.what).toBeLessThan(2500);
    expect(logLines.slice(logFrom2).some((l) => /token store/.test(l.err?.message ?? ''))).toBe(true);
    // The failed lookup is remembered for a moment: the next request does not wait for another one.
    const logFrom3 = logLines.length;
    const remembered = await postReport(writer, 'report, remembered failure');
    expectUnavailable([remembered], logFrom3);
    expect(remembered.ms).toBeLessThan(500);

    node.resume();
    await untilAccepted(writer, 20_000);
    await untilAccepted(unused[0]!, 5000);
  }, 60_000);

  it('answers 503 with Retry-After while NATS is dead (SIGKILL) and restarting, and 2xx once it is back', async () => {
    await node.kill('SIGKILL');
    const logFrom = logLines.length;
    const down = await Promise.all([
      postReport(writer, 'report'),
      postReport(unused[1]!, 'report, uncached token'),
      send('correction', `/v1/claims/${claimId}/corrections`, { changes: { quote: 'q2' }, reason: 'r' }, writer),
    ]);
    expectUnavailable(down, logFrom);

    const restarting = node.start();
    // Requests while it starts (JetStream may answer "no responders" for a moment): 503, never 500.
    const during = untilAccepted(unused[2]!, 30_000);
    await restarting;
    await during;
    const after = await send(
      'correction',
      `/v1/claims/${claimId}/corrections`,
      { changes: { quote: 'q3' }, reason: 'r' },
      writer,
    );
    expect(after.status).toBe(202);
  }, 60_000);
});
