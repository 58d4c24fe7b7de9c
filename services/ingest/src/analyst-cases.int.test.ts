// An analyst's cases for the writes that say what the sources said: each posts what an analyst
// would post, then reads back what every reader of the stream (the projector, replay, export)
// gets: the stored events, decoded through the one upcasting pipeline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { openBuckets } from '@claimtrail/shared/nats';
import { createLogger } from '@claimtrail/shared';
import { decodeEvent, type ClaimtrailEvent } from '@claimtrail/shared/events';
import { newToken, tokenHash } from '@claimtrail/shared/identity';
import { createIngestApp } from './ingest.app.ts';
import { createKvTokenStore } from './token-store.ts';

let env: TestEnv;
let ingest: Awaited<ReturnType<typeof createIngestApp>>;
const writer = newToken();
const admin = newToken();

beforeAll(async () => {
  env = await createTestEnv('analyst-cases');
  const buckets = await openBuckets(env.nc, env.stream);
  const tokens = createKvTokenStore(buckets.tokens);
  await tokens.put(tokenHash(writer), { principal: 'analyst', scopes: ['report:write'] });
  await tokens.put(tokenHash(admin), { principal: 'editor', scopes: ['admin'] });
  ingest = await createIngestApp({
    nc: env.nc,
    idempotencyKv: buckets.idempotency,
    tokens: createKvTokenStore(buckets.tokens),
    logger: createLogger('test', 'silent'),
    settings: { stream: env.stream, subjectPrefix: env.subjectPrefix, publishTimeoutMs: 2000, ratePerMinute: 100_000 },
  });
});
afterAll(async () => {
  await ingest?.close();
  await env?.cleanup();
});

type Answer = { statusCode: number; json(): any; headers: Record<string, unknown> };
function post(url: string, body: unknown, token = writer, headers: Record<string, string> = {}): Promise<Answer> {
  return ingest.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    payload: JSON.stringify(body),
  });
}

async function lastSeq(): Promise<number> {
  const jsm = await jetstreamManager(env.nc);
  return (await jsm.streams.info(env.stream)).state.last_seq;
}

/** Every event on `subject` (wildcards allowed, without the prefix), decoded as readers decode them. */
async function eventsOn(subject: string, fromSeq = 1): Promise<(ClaimtrailEvent & { seq: number })[]> {
  const jsm = await jetstreamManager(env.nc);
  const out: (ClaimtrailEvent & { seq: number })[] = [];
  for (let seq = fromSeq; ;) {
    const m = await jsm.direct.getMessage(env.stream, { next_by_subj: `${env.subjectPrefix}.${subject}`, seq });
    if (!m) return out;
    const decoded = decodeEvent(JSON.parse(m.string()));
    if (!decoded.ok) throw new Error(`seq ${m.seq}: ${decoded.reason}`);
    out.push({ ...decoded.event, seq: m.seq });
    seq = m.seq + 1;
  }
}

/** The events a write stored: those after `before`, by type. */
async function storedSince(before: number) {
  const events = await eventsOn('>', before + 1);
  return (type: ClaimtrailEvent['type']) => events.filter((e) => e.type === type).map((e) => e.data as any);
}

describe('a report says what the sources said', () => {
  it('keeps the report kind, the qualifiers and note, and the names of hops; hops with names register', async () => {
    const before = await lastSeq();
    const res = await post('/v1/reports', {
      report: {
        url: 'https://example.org/2025/03/mod-briefing',
        publisher: 'UK Ministry of Defence',
        publishedAt: '2025-03-04',
        kind: 'briefing',
      },
      claims: [
        {
          topic: 'dprk-troops-in-russia',
          metric: 'killed',
          value: { kind: 'approx', value: 1000 },
          source: { id: 'uk-defence-intelligence', kind: 'intelligence_agency', country: 'GB' },
          via: [{ id: 'uk-mod', role: 'publisher', name: 'UK Ministry of Defence' }],
          confidence: 'moderate',
          likelihood: 'highly likely',
          note: 'excludes the wounded; Kursk oblast only',
          quote: 'it is highly likely that around 1,000 have been killed',
        },
        {
          topic: 'dprk-troops-in-russia',
          metric: 'killed',
          value: { kind: 'exact', value: 1500 },
          source: { id: 'ua-monitor', name: 'A counting project', kind: 'monitor' },
        },
      ],
    });
    expect(res.statusCode).toBe(202);
    const stored = await storedSince(before);

    expect(stored('ReportSubmitted')).toEqual([expect.objectContaining({ kind: 'briefing' })]);
    expect(stored('ClaimRecorded')[0]).toMatchObject({
      confidence: 'moderate',
      likelihood: 'highly likely',
      note: 'excludes the wounded; Kursk oblast only',
      via: [{ id: 'uk-mod', role: 'publisher', name: 'UK Ministry of Defence' }],
    });
    expect(stored('ClaimRecorded')[1]).not.toHaveProperty('confidence');
    expect(stored('SourceRegistered')).toEqual(
      expect.arrayContaining([
        { sourceId: 'uk-defence-intelligence', kind: 'intelligence_agency', country: 'GB' },
        { sourceId: 'uk-mod', name: 'UK Ministry of Defence' },
        { sourceId: 'ua-monitor', name: 'A counting project', kind: 'monitor' },
      ]),
    );
    expect(stored('SourceRegistered')).toHaveLength(3);
  });

  it("merges a hop's name with what the report says elsewhere about the same source", async () => {
    const before = await lastSeq();
    const res = await post('/v1/reports', {
      report: { url: 'https://example.org/merge', publisher: 'Example Daily', publishedAt: '2025-03-05' },
      claims: [
        {
          topic: 'dprk-troops-in-russia',
          metric: 'wounded',
          value: { kind: 'exact', value: 2700 },
          source: { id: 'kr-nis', kind: 'intelligence_agency' },
          via: [{ id: 'kr-lawmaker-lee', role: 'briefer', name: 'Lee Seong-kweun' }],
        },
        {
          topic: 'dprk-troops-in-russia',
          metric: 'killed',
          value: { kind: 'approx', value: 300 },
          source: { id: 'kr-lawmaker-lee', kind: 'legislator', country: 'KR' },
        },
      ],
    });
    expect(res.statusCode).toBe(202);
    const stored = await storedSince(before);
    expect(stored('SourceRegistered')).toEqual([
      { sourceId: 'kr-nis', kind: 'intelligence_agency' },
      { sourceId: 'kr-lawmaker-lee', name: 'Lee Seong-kweun', kind: 'legislator', country: 'KR' },
    ]);
  });

  it("accepts the contract's range with a best figure, and refuses a best outside it at its path", async () => {
    const claim = (value: unknown) => ({
      report: { url: 'https://example.org/study', publisher: 'A Journal', publishedAt: '2025-06', kind: 'study' },
      claims: [
        {
          topic: 'war-dead',
          metric: 'killed',
          value,
          source: { id: 'a-study', kind: 'academic' },
          quote: '64,260 (95% interval 55,298 to 78,525)',
        },
      ],
    });
    const before = await lastSeq();
    const ok = await post('/v1/reports', claim({ kind: 'range', low: 55298, best: 64260, high: 78525 }));
    expect(ok.statusCode).toBe(202);
    expect((await storedSince(before))('ClaimRecorded')[0].value).toEqual({
      kind: 'range',
      low: 55298,
      best: 64260,
      high: 78525,
    });

    const after = await lastSeq();
    const bad = await post('/v1/reports', claim({ kind: 'range', low: 55298, best: 80000, high: 78525 }));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { path: string }) => e.path)).toContain('/claims/0/value/best');
    expect(await lastSeq()).toBe(after);
  });

  const claimWith = (over: Record<string, unknown>, reportOver: Record<string, unknown> = {}) => ({
    report: { url: 'https://example.org/bad', publisher: 'Example Daily', publishedAt: '2025-03-05', ...reportOver },
    claims: [
      {
        topic: 'dprk-troops-in-russia',
        metric: 'killed',
        value: { kind: 'exact', value: 1 },
        source: { id: 'kr-nis' },
        ...over,
      },
    ],
  });
  it.each([
    ['a confidence word of its own', claimWith({ confidence: 'certain' }), '/claims/0/confidence'],
    ['a likelihood over 64 characters', claimWith({ likelihood: 'l'.repeat(65) }), '/claims/0/likelihood'],
    ['a note over 2000 characters', claimWith({ note: 'n'.repeat(2001) }), '/claims/0/note'],
    ['a bidi control in a note', claimWith({ note: 'a\u202Eb' }), '/claims/0/note'],
    [
      "a hop's name over 200 characters",
      claimWith({ via: [{ id: 'x', role: 'relay', name: 'n'.repeat(201) }] }),
      '/claims/0/via/0/name',
    ],
    ['an unknown report kind', claimWith({}, { kind: 'blog' }), '/report/kind'],
    ['an unknown source kind', claimWith({ source: { id: 'x', kind: 'think_tank' } }), '/claims/0/source/kind'],
  ])('refuses %s at its path and stores nothing', async (_name, body, path) => {
    const before = await lastSeq();
    const res = await post('/v1/reports', body);
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await lastSeq()).toBe(before);
  });
});

describe('a correction says what the sources said', () => {
  async function recordClaim(url: string, over: Record<string, unknown> = {}): Promise<string> {
    const res = await post('/v1/reports', {
      report: { url, publisher: 'Example Daily', publishedAt: '2025-02-21' },
      claims: [
        {
          topic: 'dprk-troops-in-russia',
          metric: 'deployed',
          value: { kind: 'exact', value: 11000 },
          source: { id: 'ua-gur' },
          confidence: 'high',
          likelihood: 'almost certain',
          ...over,
        },
      ],
    });
    expect(res.statusCode).toBe(202);
    return res.json().claims[0].claimId as string;
  }

  it('moves a misattributed claim to its source, registers it and the named hops, and clears qualifiers', async () => {
    const id = await recordClaim('https://example.org/misattributed');
    const before = await lastSeq();
    const res = await post(`/v1/claims/${id}/corrections`, {
      changes: {
        source: { id: 'kr-jcs', name: 'Joint Chiefs of Staff (South Korea)', kind: 'military', country: 'KR' },
        via: [{ id: 'yonhap', role: 'publisher', name: 'Yonhap' }],
        confidence: null,
        likelihood: null,
        note: 'the figure was the JCS briefing, relayed by Yonhap',
      },
      reason: 'misread the attribution',
    });
    expect(res.statusCode).toBe(202);
    const stored = await storedSince(before);
    expect(stored('ClaimCorrected')).toEqual([
      {
        claimId: id,
        changes: {
          source: { id: 'kr-jcs', name: 'Joint Chiefs of Staff (South Korea)', kind: 'military', country: 'KR' },
          via: [{ id: 'yonhap', role: 'publisher', name: 'Yonhap' }],
          confidence: null,
          likelihood: null,
          note: 'the figure was the JCS briefing, relayed by Yonhap',
        },
        reason: 'misread the attribution',
      },
    ]);
    expect(stored('SourceRegistered')).toEqual(
      expect.arrayContaining([
        { sourceId: 'kr-jcs', name: 'Joint Chiefs of Staff (South Korea)', kind: 'military', country: 'KR' },
        { sourceId: 'yonhap', name: 'Yonhap' },
      ]),
    );
    expect(stored('SourceRegistered')).toHaveLength(2);

    // The same correction again (same body, so the same key): stored once.
    const again = await post(`/v1/claims/${id}/corrections`, {
      changes: {
        source: { id: 'kr-jcs', name: 'Joint Chiefs of Staff (South Korea)', kind: 'military', country: 'KR' },
        via: [{ id: 'yonhap', role: 'publisher', name: 'Yonhap' }],
        confidence: null,
        likelihood: null,
        note: 'the figure was the JCS briefing, relayed by Yonhap',
      },
      reason: 'misread the attribution',
    });
    expect(again.json()).toMatchObject({ seq: res.json().seq, duplicate: true });
  });

  it('registers nothing for a correction it refuses', async () => {
    const before = await lastSeq();
    const unknown = await post('/v1/claims/clm_000000000000000000000000/corrections', {
      changes: { source: { id: 'ghost', name: 'Nobody' } },
      reason: 'r',
    });
    expect(unknown.statusCode).toBe(404);
    const bad = await post(`/v1/claims/clm_000000000000000000000000/corrections`, {
      changes: { confidence: 'certain' },
      reason: 'r',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { path: string }) => e.path)).toContain('/changes/confidence');
    expect(await lastSeq()).toBe(before);
  });
});
