// An analyst's cases for the writes that say what the sources said: each posts what an analyst
// would post, then reads back what every reader of the stream (the projector, replay, export)
// gets: the stored events, decoded through the one upcasting pipeline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { openBuckets } from '@claimtrail/shared/nats';
import { decodeEvent, type ClaimtrailEvent } from '@claimtrail/shared/events';
import { newToken, tokenHash } from '@claimtrail/shared/identity';
import type { createIngestApp } from './ingest.app.ts';
import { startTestIngest } from './test-ingest.ts';
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
  ingest = await startTestIngest(env);
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
async function eventsOn(
  subject: string,
  fromSeq = 1,
): Promise<{ seq: number; type: string; actor: string; data: any }[]> {
  const jsm = await jetstreamManager(env.nc);
  const out: { seq: number; type: string; actor: string; data: any }[] = [];
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
  return (type: ClaimtrailEvent['type']) => events.filter((e) => e.type === type).map((e) => e.data);
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

describe('an editor names a topic', () => {
  const topic = { topic: 'dprk-troops-in-russia', label: 'North Korean troops in Russia' };

  it('stores its label and description once, answers the same body again as a duplicate, and keeps each change', async () => {
    const before = await lastSeq();
    const first = await post('/v1/topics', topic, admin);
    expect(first.statusCode).toBe(202);
    expect(first.json()).toEqual({ seq: before + 1 });
    const stored = await eventsOn(`topic.${topic.topic}`);
    expect(stored.map((e) => [e.type, e.data, e.actor])).toEqual([['TopicDefined', topic, 'editor']]);

    const again = await post('/v1/topics', topic, admin);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ seq: before + 1, duplicate: true });
    expect(await lastSeq()).toBe(before + 1);

    const described = { ...topic, description: 'Deployment and losses of DPRK soldiers in the Kursk oblast' };
    const second = await post('/v1/topics', described, admin);
    expect(second.statusCode).toBe(202);
    // Back to the first wording: a change like any other, not a repeat of the first request.
    const third = await post('/v1/topics', topic, admin);
    expect(third.statusCode).toBe(202);
    expect((await eventsOn(`topic.${topic.topic}`)).map((e) => e.data)).toEqual([topic, described, topic]);
  });

  it('answers two identical definitions sent at once with one write and one duplicate', async () => {
    const body = { topic: 'wagner-losses', label: 'Wagner Group losses' };
    const answers = await Promise.all([post('/v1/topics', body, admin), post('/v1/topics', body, admin)]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 202]);
    expect(new Set(answers.map((a) => a.json().seq)).size).toBe(1);
    expect(await eventsOn('topic.wagner-losses')).toHaveLength(1);
  });

  it.each([
    ['a writer token', { topic: 'x', label: 'X' }, writer, 403, undefined],
    ['a bad slug', { topic: 'Not A Slug', label: 'X' }, admin, 400, '/topic'],
    ['no label', { topic: 'x' }, admin, 400, '/label'],
    ['an unknown field', { topic: 'x', label: 'X', colour: 'red' }, admin, 400, '/colour'],
    [
      'a description over 2000 characters',
      { topic: 'x', label: 'X', description: 'd'.repeat(2001) },
      admin,
      400,
      '/description',
    ],
  ])('refuses %s and stores nothing', async (_name, body, token, status, path) => {
    const before = await lastSeq();
    const res = await post('/v1/topics', body, token);
    expect(res.statusCode).toBe(status);
    if (path) expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await lastSeq()).toBe(before);
  });
});

describe('an editor defines metrics', () => {
  const metric = (m: string, over: Record<string, unknown> = {}) => ({
    metric: m,
    label: m.replace(/_/g, ' '),
    unit: 'persons',
    aggregation: 'cumulative',
    ...over,
  });
  const paths = (res: Answer) => res.json().errors.map((e: { path: string }) => e.path);
  const define = (body: unknown, headers: Record<string, string> = {}) => post('/v1/metrics', body, admin, headers);

  it('refuses a composite whose parts are missing, repeated or counted in another unit, naming each part', async () => {
    const before = await lastSeq();
    const missing = await define(metric('casualties', { composedOf: ['fallen', 'injured'] }));
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors).toEqual([
      { path: '/composedOf/0', message: 'metric fallen is not defined; define it first' },
      { path: '/composedOf/1', message: 'metric injured is not defined; define it first' },
    ]);
    expect(await lastSeq()).toBe(before);

    expect((await define(metric('fallen'))).statusCode).toBe(202);
    expect((await define(metric('injured'))).statusCode).toBe(202);
    expect((await define(metric('shells_fired', { unit: 'rounds' }))).statusCode).toBe(202);
    const afterParts = await lastSeq();

    const twice = await define(metric('casualties', { composedOf: ['fallen', 'injured', 'fallen'] }));
    expect(twice.statusCode).toBe(400);
    expect(paths(twice)).toEqual(['/composedOf/2']);
    const itself = await define(metric('casualties', { composedOf: ['casualties', 'fallen'] }));
    expect(itself.statusCode).toBe(400);
    expect(paths(itself)).toEqual(['/composedOf/0']);
    const units = await define(metric('casualties', { composedOf: ['fallen', 'shells_fired'] }));
    expect(units.statusCode).toBe(400);
    expect(units.json().errors).toEqual([
      {
        path: '/composedOf/1',
        message: 'metric shells_fired is counted in rounds, not in persons as casualties is',
      },
    ]);
    expect(await lastSeq()).toBe(afterParts);

    const ok = await define(metric('casualties', { composedOf: ['fallen', 'injured'] }));
    expect(ok.statusCode).toBe(202);
    expect(ok.headers.etag).toBe(`"${ok.json().seq}"`);
  });

  it('answers the same definition as a duplicate, writes a new label, and guards a redefinition with If-Match', async () => {
    const first = await define(metric('deployed_troops', { aggregation: 'stock' }));
    expect(first.statusCode).toBe(202);
    const v1 = first.json().seq as number;

    const same = await define(metric('deployed_troops', { aggregation: 'stock' }));
    expect(same.statusCode).toBe(200);
    expect(same.json()).toEqual({ seq: v1, duplicate: true });
    expect(same.headers.etag).toBe(`"${v1}"`);

    const relabelled = await define(metric('deployed_troops', { aggregation: 'stock', label: 'Troops deployed' }));
    expect(relabelled.statusCode).toBe(202);
    const v2 = relabelled.json().seq as number;

    const before = await lastSeq();
    const unguarded = await define(metric('deployed_troops', { aggregation: 'cumulative', label: 'Troops deployed' }));
    expect(unguarded.statusCode).toBe(409);
    expect(unguarded.json().detail).toContain('aggregation stock → cumulative');
    expect(unguarded.json().detail).toContain(`If-Match: "${v2}"`);
    const stale = await define(metric('deployed_troops', { aggregation: 'cumulative', label: 'Troops deployed' }), {
      'if-match': `"${v1}"`,
    });
    expect(stale.statusCode).toBe(412);
    expect(stale.json()).toMatchObject({ status: 412, title: 'Precondition Failed' });
    expect(stale.json().detail).toContain(`"${v2}"`);
    const malformed = await define(metric('deployed_troops', { aggregation: 'cumulative' }), { 'if-match': 'v2' });
    expect(malformed.statusCode).toBe(400);
    expect(paths(malformed)).toEqual(['headers:/if-match']);
    const nothingYet = await define(metric('never_defined'), { 'if-match': `"${v2}"` });
    expect(nothingYet.statusCode).toBe(412);
    expect(await lastSeq()).toBe(before);

    const guarded = await define(metric('deployed_troops', { aggregation: 'cumulative', label: 'Troops deployed' }), {
      'if-match': `"${v2}"`,
    });
    expect(guarded.statusCode).toBe(202);
    const v3 = guarded.json().seq as number;
    expect(guarded.headers.etag).toBe(`"${v3}"`);
    expect((await eventsOn('metric.deployed_troops')).map((e) => [e.seq, e.data.aggregation])).toEqual([
      [v1, 'stock'],
      [v2, 'stock'],
      [v3, 'cumulative'],
    ]);
    // Its retry, with the If-Match that is stale now, is still the same definition: a duplicate.
    const retry = await define(metric('deployed_troops', { aggregation: 'cumulative', label: 'Troops deployed' }), {
      'if-match': `"${v2}"`,
    });
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual({ seq: v3, duplicate: true });
  });

  it('takes parts in any order as the same parts, and needs If-Match to change them', async () => {
    const a = await define(metric('losses', { composedOf: ['fallen', 'injured'] }));
    expect(a.statusCode).toBe(202);
    const reordered = await define(metric('losses', { composedOf: ['injured', 'fallen'] }));
    expect(reordered.statusCode).toBe(200);
    expect(reordered.json()).toEqual({ seq: a.json().seq, duplicate: true });
    const fewer = await define(metric('losses', { composedOf: ['fallen', 'casualties'] }));
    expect(fewer.statusCode).toBe(409);
    expect(fewer.json().detail).toContain('composedOf [fallen, injured] → [casualties, fallen]');
    // Another unit for the composite would leave its parts in persons.
    const unit = await define(metric('losses', { unit: 'soldiers', composedOf: ['fallen', 'injured'] }));
    expect(unit.statusCode).toBe(400);
    expect(paths(unit)).toEqual(['/composedOf/0', '/composedOf/1']);
    const aggregation = await define(
      metric('losses', { aggregation: 'incremental', composedOf: ['fallen', 'injured'] }),
    );
    expect(aggregation.statusCode).toBe(409);
  });
});

describe("a claim's unit and metric", () => {
  const report = (url: string, claims: Record<string, unknown>[]) => ({
    report: { url, publisher: 'Example Daily', publishedAt: '2025-03-10' },
    claims: claims.map((c) => ({
      topic: 'dprk-troops-in-russia',
      value: { kind: 'approx', value: 300 },
      source: { id: 'kr-nis' },
      ...c,
    })),
  });

  it("defines a metric nobody defined, and warns with the contract's words, naming a similar defined one", async () => {
    expect(
      (await post('/v1/metrics', { metric: 'killed', label: 'Killed', aggregation: 'cumulative' }, admin)).statusCode,
    ).toBeLessThan(300);
    const before = await lastSeq();
    const body = report('https://example.org/typo', [{ metric: 'kiled' }]);
    const res = await post('/v1/reports', body);
    expect(res.statusCode).toBe(202);
    expect(res.json().warnings).toEqual([
      { path: '/claims/0/metric', message: 'new metric kiled; a defined metric with a similar name: killed' },
    ]);
    expect(res.json().lastSeq).toBe(await lastSeq());
    const stored = await storedSince(before);
    expect(stored('MetricDefined')).toEqual([
      { metric: 'kiled', label: 'kiled', unit: 'persons', aggregation: 'cumulative' },
    ]);
    expect(stored('ClaimRecorded')).toHaveLength(1);

    // The same report again: the first answer, warning included, and nothing stored.
    const again = await post('/v1/reports', body);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ ...res.json(), duplicate: true });
    // Another report on the metric: it is defined now.
    const later = await post(
      '/v1/reports',
      report('https://example.org/typo-again', [{ metric: 'kiled', value: { kind: 'exact', value: 7 } }]),
    );
    expect(later.statusCode).toBe(202);
    expect(later.json()).not.toHaveProperty('warnings');
    expect(await eventsOn('metric.kiled')).toHaveLength(1);
  });

  it('defines a new metric once per report, in the unit of its first claim, and warns at that claim', async () => {
    const before = await lastSeq();
    const res = await post(
      '/v1/reports',
      report('https://example.org/captured', [
        { metric: 'killed', value: { kind: 'exact', value: 12 } },
        { metric: 'taken_prisoner', value: { kind: 'exact', value: 2 } },
        { metric: 'taken_prisoner', value: { kind: 'exact', value: 3 }, source: { id: 'ua-sbu' } },
      ]),
    );
    expect(res.statusCode).toBe(202);
    expect(res.json().warnings).toEqual([{ path: '/claims/1/metric', message: 'new metric taken_prisoner' }]);
    expect((await storedSince(before))('MetricDefined')).toEqual([
      { metric: 'taken_prisoner', label: 'taken_prisoner', unit: 'persons', aggregation: 'cumulative' },
    ]);
  });

  it("refuses a claim whose unit is not its metric's, naming both units, and stores nothing", async () => {
    expect(
      (
        await post(
          '/v1/metrics',
          { metric: 'shells_used', label: 'Shells used', unit: 'rounds', aggregation: 'incremental' },
          admin,
        )
      ).statusCode,
    ).toBe(202);
    const before = await lastSeq();
    const wrong = await post(
      '/v1/reports',
      report('https://example.org/shells', [
        { metric: 'shells_used', value: { kind: 'exact', value: 10000 }, unit: 'rounds' },
        { metric: 'shells_used', value: { kind: 'exact', value: 9000 } },
        { metric: 'drones_lost', value: { kind: 'exact', value: 4 }, unit: 'drones' },
        { metric: 'drones_lost', value: { kind: 'exact', value: 5 }, unit: 'aircraft' },
      ]),
    );
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().errors).toEqual([
      { path: '/claims/1/unit', message: 'metric shells_used is counted in rounds, not persons' },
      { path: '/claims/3/unit', message: 'metric drones_lost is new, and claim 2 defines it in drones, not aircraft' },
    ]);
    expect(await lastSeq()).toBe(before);

    const right = await post(
      '/v1/reports',
      report('https://example.org/shells', [
        { metric: 'shells_used', value: { kind: 'exact', value: 9000 }, unit: 'rounds' },
      ]),
    );
    expect(right.statusCode).toBe(202);
    expect(right.json()).not.toHaveProperty('warnings');
  });

  it("refuses a correction that would leave a claim out of its metric's unit", async () => {
    const made = await post(
      '/v1/reports',
      report('https://example.org/shells-corr', [{ metric: 'killed', value: { kind: 'exact', value: 8000 } }]),
    );
    const id = made.json().claims[0].claimId as string;
    const before = await lastSeq();
    const unitOnly = await post(`/v1/claims/${id}/corrections`, { changes: { unit: 'rounds' }, reason: 'r' });
    expect(unitOnly.statusCode).toBe(400);
    expect(unitOnly.json().errors).toEqual([
      { path: '/changes/unit', message: 'metric killed is counted in persons, not rounds' },
    ]);
    const metricOnly = await post(`/v1/claims/${id}/corrections`, { changes: { metric: 'shells_used' }, reason: 'r' });
    expect(metricOnly.statusCode).toBe(400);
    expect(metricOnly.json().errors).toEqual([
      { path: '/changes/metric', message: 'metric shells_used is counted in rounds, not persons' },
    ]);
    expect(await lastSeq()).toBe(before);
    const both = await post(`/v1/claims/${id}/corrections`, {
      changes: { metric: 'shells_used', unit: 'rounds' },
      reason: 'the figure was of shells, not soldiers',
    });
    expect(both.statusCode).toBe(202);
  });

  it('checks claims against a unit redefined a moment ago', async () => {
    const first = await post(
      '/v1/metrics',
      { metric: 'fuel_delivered', label: 'Fuel', unit: 'tonnes', aggregation: 'incremental' },
      admin,
    );
    const ok = await post(
      '/v1/reports',
      report('https://example.org/fuel-1', [{ metric: 'fuel_delivered', unit: 'tonnes' }]),
    );
    expect(ok.statusCode).toBe(202);
    const redefined = await post(
      '/v1/metrics',
      { metric: 'fuel_delivered', label: 'Fuel', unit: 'litres', aggregation: 'incremental' },
      admin,
      { 'if-match': `"${first.json().seq}"` },
    );
    expect(redefined.statusCode).toBe(202);
    const old = await post(
      '/v1/reports',
      report('https://example.org/fuel-2', [{ metric: 'fuel_delivered', unit: 'tonnes' }]),
    );
    expect(old.statusCode).toBe(400);
    expect(old.json().errors).toEqual([
      { path: '/claims/0/unit', message: 'metric fuel_delivered is counted in litres, not tonnes' },
    ]);
  });

  it('lets one of two reports racing to define a metric in different units define it, and refuses the other', async () => {
    const answers = await Promise.all([
      post('/v1/reports', report('https://example.org/race-a', [{ metric: 'tanks_destroyed', unit: 'vehicles' }])),
      post('/v1/reports', report('https://example.org/race-b', [{ metric: 'tanks_destroyed', unit: 'tanks' }])),
    ]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([202, 400]);
    const refused = answers.find((a) => a.statusCode === 400)!;
    expect(refused.json().errors[0].path).toBe('/claims/0/unit');
    const defined = await eventsOn('metric.tanks_destroyed');
    expect(defined).toHaveLength(1);
    expect(
      await eventsOn('claim.dprk-troops-in-russia.*').then((es) =>
        es.filter((e) => e.data.metric === 'tanks_destroyed'),
      ),
    ).toHaveLength(1);
  });
});

describe('the period a claim describes is part of what it is', () => {
  const rate = (validFrom: string, validTo: string) => ({
    topic: 'russian-losses',
    metric: 'casualties_per_day',
    unit: 'persons/day',
    value: { kind: 'approx', value: 1500 },
    source: { id: 'uk-defence-intelligence' },
    statedAt: '2024-12-05',
    validFrom,
    validTo,
  });

  it('records "about 1,500 a day in October" and "in November", stated together, as two claims', async () => {
    const body = {
      report: {
        url: 'https://example.org/daily-rates',
        publisher: 'UK MoD',
        publishedAt: '2024-12-05',
        kind: 'social_post',
      },
      claims: [rate('2024-10', '2024-10'), rate('2024-11', '2024-11')],
    };
    const res = await post('/v1/reports', body);
    expect(res.statusCode).toBe(202);
    const [october, november] = res.json().claims as { claimId: string; echo: boolean }[];
    expect([october!.echo, november!.echo]).toEqual([false, false]);
    expect(october!.claimId).not.toBe(november!.claimId);
    const recorded = await eventsOn('claim.russian-losses.*');
    expect(recorded.map((e) => [e.type, e.data.claimId, e.data.validFrom, e.data.validTo])).toEqual([
      ['ClaimRecorded', october!.claimId, '2024-10', '2024-10'],
      ['ClaimRecorded', november!.claimId, '2024-11', '2024-11'],
    ]);

    // Another report repeating November's figure cites November's claim.
    const repeat = await post('/v1/reports', {
      report: { url: 'https://example.org/daily-rates-repeat', publisher: 'Example Daily', publishedAt: '2024-12-06' },
      claims: [rate('2024-11', '2024-11')],
    });
    expect(repeat.json().claims).toEqual([{ claimId: november!.claimId, echo: true, seq: expect.any(Number) }]);
  });

  it('finds a claim recorded before the period counted as the echo it is, under its old id', async () => {
    // What ingest wrote before: a version 1 ClaimRecorded, its id hashed without the period.
    const oldId = 'clm_de0f962410e51707e4fca7f3';
    const jsm = await jetstreamManager(env.nc);
    const js = jsm.jetstream();
    await js.publish(
      `${env.subjectPrefix}.claim.dprk-troops-in-russia.${oldId}`,
      JSON.stringify({
        eventId: '0190a0b0-0000-7000-8000-000000000001',
        type: 'ClaimRecorded',
        version: 1,
        recordedAt: '2025-01-20T00:00:00.000Z',
        actor: 'alice',
        requestId: 'req-old',
        data: {
          claimId: oldId,
          reportId: 'rpt_000000000000000000000001',
          topic: 'dprk-troops-in-russia',
          metric: 'killed',
          value: { kind: 'approx', value: 300 },
          unit: 'persons',
          sourceId: 'kr-nis',
          via: [],
          statedAt: '2025-01',
          validFrom: '2025-01',
          validTo: '2025-01',
        },
      }),
    );
    const claim = {
      topic: 'dprk-troops-in-russia',
      metric: 'killed',
      value: { kind: 'approx', value: 300 },
      source: { id: 'kr-nis' },
      statedAt: '2025-01',
    };
    const res = await post('/v1/reports', {
      report: { url: 'https://example.org/old-echo', publisher: 'Example Daily', publishedAt: '2025-02-01' },
      claims: [claim, { ...claim, validFrom: '2025-01', validTo: '2025-01' }, { ...claim, validFrom: '2024-10' }],
    });
    expect(res.statusCode).toBe(202);
    const [implicit, explicit, longer] = res.json().claims as { claimId: string; echo: boolean }[];
    expect(implicit).toMatchObject({ claimId: oldId, echo: true });
    expect(explicit).toMatchObject({ claimId: oldId, echo: true });
    expect(longer!.echo).toBe(false);
    expect(longer!.claimId).not.toBe(oldId);
  });
});

describe('identity follows corrections', () => {
  const tally = (value: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
    topic: 'gaza-deaths',
    metric: 'killed',
    value,
    source: { id: 'gaza-moh' },
    statedAt: '2024-03-01',
    ...over,
  });
  async function report(url: string, claims: unknown[], publishedAt = '2024-03-02') {
    const res = await post('/v1/reports', { report: { url, publisher: 'Example Wire', publishedAt }, claims });
    expect(res.statusCode).toBe(202);
    return res.json().claims as { claimId: string; echo: boolean; seq: number }[];
  }
  async function correct(claimId: string, changes: Record<string, unknown>) {
    const res = await post(`/v1/claims/${claimId}/corrections`, { changes, reason: 'our transcription was wrong' });
    expect(res.statusCode).toBe(202);
  }

  it('a relay of the corrected figure is an echo of the corrected claim; a repeat of the typo is a new claim', async () => {
    // The ministry's 30,035, typed as 30,053, then corrected.
    const [typed] = await report('https://example.org/moh-typo', [tally({ kind: 'exact', value: 30053 })]);
    await correct(typed!.claimId, { value: { kind: 'exact', value: 30035 } });

    // A UN agency relays the ministry's 30,035 a week later: an echo of the corrected claim.
    const [relay] = await report(
      'https://example.org/un-relay',
      [tally({ kind: 'exact', value: 30035 }, { via: [{ id: 'un-ocha', role: 'relay', name: 'UN OCHA' }] })],
      '2024-03-08',
    );
    expect(relay).toMatchObject({ claimId: typed!.claimId, echo: true });
    const cited = await eventsOn(`claim.gaza-deaths.${typed!.claimId}`);
    expect(cited.map((e) => e.type)).toEqual(['ClaimRecorded', 'ClaimCorrected', 'ClaimCited']);

    // Somebody posts the typo's figure again: the corrected claim never said it, so it is a new claim,
    // and a further repeat of it is that new claim's echo.
    const [again] = await report('https://example.org/typo-again', [tally({ kind: 'exact', value: 30053 })]);
    expect(again!.echo).toBe(false);
    expect(again!.claimId).not.toBe(typed!.claimId);
    const [repeat] = await report('https://example.org/typo-repeat', [tally({ kind: 'exact', value: 30053 })]);
    expect(repeat).toMatchObject({ claimId: again!.claimId, echo: true });
  });

  it('a relay of "at least 40,000" is not an echo of a claim corrected to exactly 40,005', async () => {
    const [atLeast] = await report('https://example.org/at-least', [
      tally({ kind: 'at_least', value: 40000 }, { statedAt: '2024-08-15' }),
    ]);
    await correct(atLeast!.claimId, { value: { kind: 'exact', value: 40005 } });
    const [relay] = await report('https://example.org/at-least-relay', [
      tally({ kind: 'at_least', value: 40000 }, { statedAt: '2024-08-15' }),
    ]);
    expect(relay!.echo).toBe(false);
    expect(relay!.claimId).not.toBe(atLeast!.claimId);
    // The relay's events are on its own claim: the corrected claim is cited by nobody.
    const onCorrected = await eventsOn(`claim.gaza-deaths.${atLeast!.claimId}`);
    expect(onCorrected.map((e) => e.type)).toEqual(['ClaimRecorded', 'ClaimCorrected']);
    const [exact] = await report('https://example.org/exact-relay', [
      tally({ kind: 'exact', value: 40005 }, { statedAt: '2024-08-15' }),
    ]);
    expect(exact).toMatchObject({ claimId: atLeast!.claimId, echo: true });
  });

  it('follows corrections of the source, the date and the period, and a correction back', async () => {
    const [claim] = await report('https://example.org/misattributed-tally', [tally({ kind: 'approx', value: 1200 })]);
    await correct(claim!.claimId, { source: { id: 'us-dod', name: 'US Department of Defense' } });
    const [bySource] = await report('https://example.org/dod', [
      tally({ kind: 'approx', value: 1200 }, { source: { id: 'us-dod' } }),
    ]);
    expect(bySource).toMatchObject({ claimId: claim!.claimId, echo: true });

    await correct(claim!.claimId, { statedAt: '2024-02-28', validFrom: '2024-02', validTo: '2024-02' });
    const moved = tally(
      { kind: 'approx', value: 1200 },
      { source: { id: 'us-dod' }, statedAt: '2024-02-28', validFrom: '2024-02', validTo: '2024-02' },
    );
    const [byPeriod] = await report('https://example.org/dod-feb', [moved]);
    expect(byPeriod).toMatchObject({ claimId: claim!.claimId, echo: true });
    // The identity it had in between is free again.
    const [between] = await report('https://example.org/dod-between', [
      tally({ kind: 'approx', value: 1200 }, { source: { id: 'us-dod' } }),
    ]);
    expect(between!.echo).toBe(false);

    // Corrected back to what it was first recorded as: the claim has its own id's identity again.
    await correct(claim!.claimId, {
      source: { id: 'gaza-moh' },
      statedAt: '2024-03-01',
      validFrom: '2024-03-01',
      validTo: '2024-03-01',
    });
    const [original] = await report('https://example.org/original-again', [tally({ kind: 'approx', value: 1200 })]);
    expect(original).toMatchObject({ claimId: claim!.claimId, echo: true });
    const [periodAgain] = await report('https://example.org/dod-feb-again', [moved]);
    expect(periodAgain!.echo).toBe(false);
    expect(periodAgain!.claimId).not.toBe(claim!.claimId);
  });

  it('another ingest process sees the correction: one started after it, and one running before it', async () => {
    const other = () => startTestIngest(env);
    const running = await other();
    try {
      const [claim] = await report('https://example.org/two-processes', [
        tally({ kind: 'exact', value: 777 }, { statedAt: '2024-05-01' }),
      ]);
      await correct(claim!.claimId, { value: { kind: 'exact', value: 771 } });
      const later = await other();
      try {
        const relay = (app: typeof later, url: string) =>
          app.app.inject({
            method: 'POST',
            url: '/v1/reports',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${writer}` },
            payload: JSON.stringify({
              report: { url, publisher: 'Example Wire', publishedAt: '2024-05-02' },
              claims: [tally({ kind: 'exact', value: 771 }, { statedAt: '2024-05-01' })],
            }),
          });
        expect((await relay(later, 'https://example.org/later-process')).json().claims[0]).toMatchObject({
          claimId: claim!.claimId,
          echo: true,
        });
        // The running process's mirror learns it from its watch, within milliseconds.
        await expect
          .poll(async () => (await relay(running, `https://example.org/running-${Math.random()}`)).json().claims[0])
          .toMatchObject({ claimId: claim!.claimId, echo: true });
      } finally {
        await later.close();
      }
    } finally {
      await running.close();
    }
  });
});
