// What sources said, as an analyst reads it back: which of a source's figures stands, what the
// source said beside the figure, what a correction replaced, topic and metric names, and 404 for
// a name nobody knows. The whole product runs in this process; what ingest does not take yet
// (the v2 request fields) is written to the stream as events, as ingest would write them.
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelope } from '@claimtrail/shared/envelope';
import { canonicalJson, createSubjects, type EventData, type EventType } from '@claimtrail/shared/events';
import { startProduct, type Product } from './helpers/product.ts';

let p: Product;
let ids = 0;
const hex24 = (n: number) => n.toString(16).padStart(24, 'f');

/** Writes one event to the stream as ingest would, and answers its seq. */
async function publish<T extends EventType>(subject: string, type: T, data: EventData<T>): Promise<number> {
  const event = createEnvelope(type, data, {
    recordedAt: new Date().toISOString(),
    actor: 'analyst',
    requestId: `seed-${++ids}`,
  });
  const ack = await jetstream(p.env.nc).publish(subject, canonicalJson(event));
  return ack.seq;
}
const subjects = () => createSubjects(p.env.subjectPrefix);

async function defineMetric(metric: string, aggregation: 'cumulative' | 'incremental' | 'stock', label = metric) {
  return publish(subjects().metric(metric), 'MetricDefined', { metric, label, unit: 'persons', aggregation });
}
async function defineTopic(topic: string, label: string, description?: string) {
  return publish(subjects().topic(topic), 'TopicDefined', {
    topic,
    label,
    ...(description === undefined ? {} : { description }),
  });
}
async function submitReport(o: { kind?: EventData<'ReportSubmitted'>['kind']; url?: string } = {}) {
  const reportId = `rpt_${hex24(++ids)}`;
  const seq = await publish(subjects().report(reportId), 'ReportSubmitted', {
    reportId,
    url: o.url ?? `https://news.example/${reportId}`,
    publisher: 'Example Wire',
    publishedAt: '2025-03-01',
    claimCount: 1,
    ...(o.kind ? { kind: o.kind } : {}),
  });
  return { reportId, seq };
}
/** A claim recorded as ClaimRecorded version 2 writes it, in a report of its own. */
async function record(
  c: Partial<EventData<'ClaimRecorded'>> & Pick<EventData<'ClaimRecorded'>, 'topic' | 'metric' | 'value' | 'sourceId'>,
  report?: { kind?: EventData<'ReportSubmitted'>['kind'] },
) {
  const { reportId } = await submitReport(report);
  const claimId = `clm_${hex24(++ids)}`;
  const statedAt = c.statedAt ?? '2025-03-10';
  const seq = await publish(subjects().claim(c.topic, claimId), 'ClaimRecorded', {
    claimId,
    reportId,
    unit: 'persons',
    via: [],
    statedAt,
    validFrom: statedAt,
    validTo: statedAt,
    ...c,
  });
  return { claimId, seq };
}

type Point = {
  claimId: string;
  status: string;
  supersededBy?: string;
  corrected?: true;
  value: unknown;
  validFrom: string;
  confidence?: string;
  likelihood?: string;
  note?: string;
  via: { id: string; role: string; name?: string }[];
  reports: { url: string; kind?: string }[];
};
type History = { series: { source: { id: string }; points: Point[] }[] };
const pointsOf = (h: History, source: string) => h.series.find((s) => s.source.id === source)?.points ?? [];
const byClaim = (h: History) => new Map(h.series.flatMap((s) => s.points.map((x) => [x.claimId, x] as const)));

beforeAll(async () => {
  p = await startProduct('sources-said');
});
afterAll(async () => {
  await p?.stop();
});

describe('a source states an exact figure and "at least" a round one the same day', () => {
  // The General Staff said on 10 March both "50,021 killed" and "at least 50,000 killed". However
  // the two were recorded, the exact figure is what the source says; the other is superseded by it.
  it('the exact figure stands whichever was recorded first, in the history, the claim and the summary', async () => {
    const exact = { kind: 'exact', value: 50021 } as const;
    const atLeast = { kind: 'at_least', value: 50000 } as const;
    const claim = (source: string, value: unknown) => ({
      topic: 'kursk-incursion',
      metric: 'killed',
      value,
      source: { id: source },
      statedAt: '2025-03-10',
    });
    const post = (url: string, claims: unknown[]) =>
      p.post('/v1/reports', { report: { url, publisher: 'Wire', publishedAt: '2025-03-10' }, claims });
    // gs-a: the exact figure recorded first; gs-b: the round "at least" first.
    const a1 = await post('https://wire.example/a1', [claim('gs-a', exact)]);
    const a2 = await post('https://wire.example/a2', [claim('gs-a', atLeast)]);
    const b1 = await post('https://wire.example/b1', [claim('gs-b', atLeast)]);
    const b2 = await post('https://wire.example/b2', [claim('gs-b', exact)]);
    for (const r of [a1, a2, b1, b2]) expect(r.status).toBe(202);
    const [aExact, aAtLeast, bAtLeast, bExact] = [a1, a2, b1, b2].map((r) => r.body.claims[0].claimId as string);

    const h = await p.get(`/v1/topics/kursk-incursion/metrics/killed/history?minSeq=${b2.body.lastSeq}`);
    expect(h.status).toBe(200);
    const row = (x: Point) => [x.claimId, x.status, x.supersededBy];
    expect(pointsOf(h.body, 'gs-a').map(row)).toEqual([
      [aExact, 'active', undefined],
      [aAtLeast, 'superseded', aExact],
    ]);
    expect(pointsOf(h.body, 'gs-b').map(row)).toEqual([
      [bAtLeast, 'superseded', bExact],
      [bExact, 'active', undefined],
    ]);

    const c = await p.get(`/v1/claims/${bAtLeast}`);
    expect(c.body.claim).toMatchObject({ status: 'superseded', supersededBy: bExact });
    expect((await p.get(`/v1/claims/${bExact}`)).body.claim).not.toHaveProperty('supersededBy');

    const s = await p.get('/v1/topics/kursk-incursion/summary');
    const latest = s.body.metrics[0].latest.map((l: { claimId: string; previous?: { claimId: string } }) => [
      l.claimId,
      l.previous?.claimId,
    ]);
    expect(latest).toEqual([
      [aExact, aAtLeast],
      [bExact, bAtLeast],
    ]);
    expect(s.body.metrics[0].envelope).toEqual({ minLow: 50021, maxHigh: 50021, sources: 2 });
  });

  it('the kind of figure ranks before the width: "about 50,000" stands over a narrower range', async () => {
    // The same day: "between 49,000 and 51,000", "50,000 (95 % interval 45,000 to 55,000)", "about 50,000".
    const base = { topic: 'kursk-incursion', metric: 'missing', sourceId: 'gs-d' };
    const range = await record({ ...base, value: { kind: 'range', low: 49000, high: 51000 } });
    const withBest = await record({ ...base, value: { kind: 'range', low: 45000, best: 50000, high: 55000 } });
    await new Promise((r) => setTimeout(r, 20));
    const beforeApprox = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const approx = await record({ ...base, value: { kind: 'approx', value: 50000 } });
    const h = await p.get(`/v1/topics/kursk-incursion/metrics/missing/history?minSeq=${approx.seq}`);
    expect(pointsOf(h.body, 'gs-d').map((x) => [x.claimId, x.status, x.supersededBy])).toEqual([
      [range.claimId, 'superseded', approx.claimId],
      [withBest.claimId, 'superseded', approx.claimId],
      [approx.claimId, 'active', undefined],
    ]);
    // Without the approx figure, the range with a best figure stands over the narrower plain range.
    const before = await p.get(`/v1/topics/kursk-incursion/metrics/missing/history?knownAt=${beforeApprox}`);
    expect(pointsOf(before.body, 'gs-d').map((x) => [x.claimId, x.status])).toEqual([
      [range.claimId, 'superseded'],
      [withBest.claimId, 'active'],
    ]);
  });

  it('among equally precise figures the narrower interval stands, then the one recorded first', async () => {
    // Three ranges the same day: 40,000-60,000, then 45,000-55,000, then 46,000-56,000.
    const wide = await record({
      topic: 'kursk-incursion',
      metric: 'wounded',
      sourceId: 'gs-c',
      value: { kind: 'range', low: 40000, high: 60000 },
    });
    const narrow = await record({
      topic: 'kursk-incursion',
      metric: 'wounded',
      sourceId: 'gs-c',
      value: { kind: 'range', low: 45000, high: 55000 },
    });
    const later = await record({
      topic: 'kursk-incursion',
      metric: 'wounded',
      sourceId: 'gs-c',
      value: { kind: 'range', low: 46000, high: 56000 },
    });
    const h = await p.get(`/v1/topics/kursk-incursion/metrics/wounded/history?minSeq=${later.seq}`);
    expect(pointsOf(h.body, 'gs-c').map((x) => [x.claimId, x.status, x.supersededBy])).toEqual([
      [wide.claimId, 'superseded', narrow.claimId],
      [narrow.claimId, 'active', undefined],
      [later.claimId, 'superseded', narrow.claimId],
    ]);
  });
});

describe('an incremental metric: a figure per period', () => {
  // "About 1,500 a month in October", "about 1,500 in November", stated together on 1 December;
  // on 15 December the source puts November at 1,700.
  it('October and November both stand; a later November figure supersedes only November’s', async () => {
    await defineMetric('reinforcements', 'incremental', 'Reinforcements sent in the period');
    const about1500 = { kind: 'approx', value: 1500 } as const;
    const base = { topic: 'dprk-troops', metric: 'reinforcements', sourceId: 'kr-nis', statedAt: '2024-12-01' };
    const oct = await record({ ...base, value: about1500, validFrom: '2024-10', validTo: '2024-10' });
    const nov = await record({ ...base, value: about1500, validFrom: '2024-11', validTo: '2024-11' });
    const h1 = await p.get(`/v1/topics/dprk-troops/metrics/reinforcements/history?minSeq=${nov.seq}`);
    expect(pointsOf(h1.body, 'kr-nis').map((x) => [x.validFrom, x.status])).toEqual([
      ['2024-10', 'active'],
      ['2024-11', 'active'],
    ]);

    const nov2 = await record({
      ...base,
      statedAt: '2024-12-15',
      value: { kind: 'exact', value: 1700 },
      validFrom: '2024-11',
      validTo: '2024-11',
    });
    const h2 = await p.get(`/v1/topics/dprk-troops/metrics/reinforcements/history?minSeq=${nov2.seq}`);
    expect(pointsOf(h2.body, 'kr-nis').map((x) => [x.claimId, x.status, x.supersededBy])).toEqual([
      [oct.claimId, 'active', undefined],
      [nov.claimId, 'superseded', nov2.claimId],
      [nov2.claimId, 'active', undefined],
    ]);
    // The CSV export works supersession out per period too.
    const csv = await p.get('/v1/topics/dprk-troops/metrics/reinforcements/history.csv');
    const [header, ...lines] = String(csv.body).trim().split('\r\n');
    const columns = header!.split(',');
    const [claimId, status, supersededBy] = ['claim_id', 'status', 'superseded_by'].map((c) => columns.indexOf(c));
    const cells = (id: string) => lines.map((l) => l.split(',')).find((c) => c[claimId!] === id)!;
    expect([oct, nov, nov2].map((c) => [cells(c.claimId)[status!], cells(c.claimId)[supersededBy!]])).toEqual([
      ['active', ''],
      ['superseded', nov2.claimId],
      ['active', ''],
    ]);
    // The summary's latest figure is the latest period's, and before it November's first figure.
    const s = await p.get('/v1/topics/dprk-troops/summary');
    const m = s.body.metrics.find((x: { metric: string }) => x.metric === 'reinforcements');
    expect(m.latest).toMatchObject([{ claimId: nov2.claimId, previous: { claimId: nov.claimId }, change: 200 }]);
  });

  it('the same two figures on a metric nobody defined count as cumulative: November’s stands over October’s', async () => {
    const base = { topic: 'dprk-troops', metric: 'shells_sent', sourceId: 'kr-nis', statedAt: '2024-12-01' };
    const oct = await record({
      ...base,
      value: { kind: 'exact', value: 10 },
      validFrom: '2024-10',
      validTo: '2024-10',
    });
    const nov = await record({
      ...base,
      value: { kind: 'exact', value: 20 },
      validFrom: '2024-11',
      validTo: '2024-11',
    });
    const h = await p.get(`/v1/topics/dprk-troops/metrics/shells_sent/history?minSeq=${nov.seq}`);
    expect(pointsOf(h.body, 'kr-nis').map((x) => [x.claimId, x.status, x.supersededBy])).toEqual([
      [oct.claimId, 'superseded', nov.claimId],
      [nov.claimId, 'active', undefined],
    ]);
  });
});

describe('what the source said beside the figure', () => {
  // NIS, briefing lawmakers through Lee Seong-kweun (named in the hop), published by Yonhap
  // (registered with its name, unnamed in the hop): "likely" about 300 killed, with moderate
  // confidence; the analyst notes it excludes the wounded who later died.
  it('comes back on the history point and the claim: qualifiers, note, named hops, report kind', async () => {
    await publish(subjects().source('yonhap'), 'SourceRegistered', { sourceId: 'yonhap', name: 'Yonhap News Agency' });
    const c = await record(
      {
        topic: 'dprk-troops',
        metric: 'killed',
        sourceId: 'kr-nis',
        value: { kind: 'approx', value: 300 },
        statedAt: '2025-01-13',
        via: [
          { id: 'kr-lawmaker-lee', role: 'briefer', name: 'Lee Seong-kweun' },
          { id: 'yonhap', role: 'publisher' },
          { id: 'nobody-named', role: 'relay' },
        ],
        confidence: 'moderate',
        likelihood: 'likely',
        note: 'excludes the wounded who later died',
      },
      { kind: 'briefing' },
    );
    const h = await p.get(`/v1/topics/dprk-troops/metrics/killed/history?minSeq=${c.seq}`);
    const point = byClaim(h.body).get(c.claimId)!;
    const said = {
      confidence: 'moderate',
      likelihood: 'likely',
      note: 'excludes the wounded who later died',
      via: [
        { id: 'kr-lawmaker-lee', role: 'briefer', name: 'Lee Seong-kweun' },
        { id: 'yonhap', role: 'publisher', name: 'Yonhap News Agency' },
        { id: 'nobody-named', role: 'relay' },
      ],
    };
    expect(point).toMatchObject({ ...said, status: 'active' });
    expect(point.via[2]).not.toHaveProperty('name');
    expect(point.reports).toMatchObject([{ kind: 'briefing' }]);
    expect(point).not.toHaveProperty('corrected');

    const claim = await p.get(`/v1/claims/${c.claimId}`);
    expect(claim.body.claim).toMatchObject(said);
    expect(claim.body.reports).toMatchObject([{ kind: 'briefing', echo: false }]);
  });
});

describe('a corrected claim, later superseded', () => {
  // We misread 1,100 as 1,000 and corrected it; the source's confidence was dropped. A month later
  // the source stated 1,400: the corrected claim is superseded, and still says it was corrected.
  it('says both, and its revision says what the correction replaced', async () => {
    const base = { topic: 'dprk-troops', metric: 'wounded', sourceId: 'ua-hur' };
    const first = await record({
      ...base,
      value: { kind: 'exact', value: 1000 },
      statedAt: '2025-01',
      confidence: 'high',
    });
    const fix = await publish(subjects().claim('dprk-troops', first.claimId), 'ClaimCorrected', {
      claimId: first.claimId,
      changes: { value: { kind: 'exact', value: 1100 }, confidence: null },
      reason: 'misread the figure; the source gave no confidence',
    });
    const h1 = await p.get(`/v1/topics/dprk-troops/metrics/wounded/history?minSeq=${fix}`);
    expect(byClaim(h1.body).get(first.claimId)).toMatchObject({ status: 'corrected', corrected: true });
    expect(byClaim(h1.body).get(first.claimId)).not.toHaveProperty('confidence');

    const second = await record({ ...base, value: { kind: 'exact', value: 1400 }, statedAt: '2025-02' });
    const h2 = await p.get(`/v1/topics/dprk-troops/metrics/wounded/history?minSeq=${second.seq}`);
    expect(byClaim(h2.body).get(first.claimId)).toMatchObject({
      status: 'superseded',
      corrected: true,
      supersededBy: second.claimId,
      value: { kind: 'exact', value: 1100 },
    });
    expect(byClaim(h2.body).get(second.claimId)).not.toHaveProperty('corrected');

    const c = await p.get(`/v1/claims/${first.claimId}`);
    expect(c.body.claim).toMatchObject({ status: 'superseded', corrected: true, supersededBy: second.claimId });
    const correction = c.body.revisions.find((r: { type: string }) => r.type === 'ClaimCorrected');
    expect(correction).toMatchObject({
      changes: { value: { kind: 'exact', value: 1100 }, confidence: null },
      before: { value: { kind: 'exact', value: 1000 }, confidence: 'high' },
      reason: 'misread the figure; the source gave no confidence',
    });
    expect(c.body.revisions[0]).not.toHaveProperty('before');
  });
});

describe('topic names', () => {
  it('GET /v1/topics carries the label and description known at the instant', async () => {
    const s1 = await defineTopic('dprk-troops', 'DPRK troops', 'North Korean soldiers sent to Russia');
    await p.get(`/v1/topics?minSeq=${s1}`);
    await new Promise((r) => setTimeout(r, 20));
    const between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const s2 = await defineTopic('dprk-troops', 'North Korean troops in Russia');
    const topicOf = (body: { topics: { topic: string }[] }, t: string) => body.topics.find((x) => x.topic === t);

    const now = await p.get(`/v1/topics?minSeq=${s2}`);
    expect(topicOf(now.body, 'dprk-troops')).toMatchObject({ label: 'North Korean troops in Russia' });
    expect(topicOf(now.body, 'dprk-troops')).not.toHaveProperty('description');
    expect(topicOf(now.body, 'kursk-incursion')).not.toHaveProperty('label');
    const then = await p.get(`/v1/topics?knownAt=${between}`);
    expect(topicOf(then.body, 'dprk-troops')).toMatchObject({
      label: 'DPRK troops',
      description: 'North Korean soldiers sent to Russia',
    });
  });

  it('a topic defined before any claim is listed, without metrics, and its reads answer empty', async () => {
    const seq = await defineTopic('shahed-strikes', 'Shahed drone strikes');
    const t = await p.get(`/v1/topics?minSeq=${seq}`);
    expect(t.body.topics.find((x: { topic: string }) => x.topic === 'shahed-strikes')).toEqual({
      topic: 'shahed-strikes',
      label: 'Shahed drone strikes',
      metrics: [],
    });
    const s = await p.get('/v1/topics/shahed-strikes/summary');
    expect([s.status, s.body.metrics]).toEqual([200, []]);
    expect((await p.get('/v1/topics/shahed-strikes/timeline')).status).toBe(200);
    const h = await p.get('/v1/topics/shahed-strikes/metrics/killed/history');
    expect([h.status, h.body.series]).toEqual([200, []]);
  });
});

describe('404 for a name nobody knows', () => {
  it.each([
    [
      'a topic nobody defined or counted',
      '/v1/topics/no-such-topic/metrics/killed/history',
      /^topic no-such-topic is unknown/,
    ],
    [
      'a metric nobody defined or counted',
      '/v1/topics/kursk-incursion/metrics/kiled/history',
      /^metric kiled is unknown/,
    ],
    ['the summary of an unknown topic', '/v1/topics/no-such-topic/summary', /^topic no-such-topic is unknown/],
    ['the timeline of an unknown topic', '/v1/topics/no-such-topic/timeline', /^topic no-such-topic is unknown/],
    ['an undefined metric', '/v1/metrics/kiled', /^metric kiled is not defined/],
    ['a metric with claims but no definition', '/v1/metrics/shells_sent', /^metric shells_sent is not defined/],
  ])('%s: 404 problem+json', async (_what, path, detail) => {
    const r = await p.get(path);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body.detail).toMatch(detail);
  });

  it('a metric with claims in another topic is known: the history is empty, not 404', async () => {
    // shells_sent has claims in dprk-troops only, and no definition.
    const h = await p.get('/v1/topics/kursk-incursion/metrics/shells_sent/history');
    expect([h.status, h.body.series]).toEqual([200, []]);
  });

  it('a topic known now was unknown before its first claim: 404 at that instant', async () => {
    const h = await p.get('/v1/topics/kursk-incursion/metrics/killed/history?knownAt=2020-01-01T00:00:00Z');
    expect(h.status).toBe(404);
    expect(h.body.detail).toBe(
      'topic kursk-incursion is unknown at 2020-01-01T00:00:00.000Z: nobody defined it and no claim names it',
    );
  });
});

describe('metric definitions', () => {
  it('GET /v1/metrics lists those in force; GET /v1/metrics/{metric} answers one with ETag "<seq>"', async () => {
    const first = await defineMetric('deployed', 'stock', 'Troops deployed');
    const one = await p.get(`/v1/metrics/deployed?minSeq=${first}`);
    expect(one.status).toBe(200);
    expect(one.headers.get('etag')).toBe(`"${first}"`);
    expect(one.body).toMatchObject({
      metric: 'deployed',
      label: 'Troops deployed',
      unit: 'persons',
      aggregation: 'stock',
      seq: first,
    });
    expect(one.body).not.toHaveProperty('composedOf');
    await new Promise((r) => setTimeout(r, 20));
    const between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));

    // A new label is a new definition in force, with its own seq.
    const relabel = await defineMetric('deployed', 'stock', 'Troops deployed in Russia');
    const now = await p.get(`/v1/metrics/deployed?minSeq=${relabel}`);
    expect([now.headers.get('etag'), now.body.label]).toEqual([`"${relabel}"`, 'Troops deployed in Russia']);
    const then = await p.get(`/v1/metrics/deployed?knownAt=${between}`);
    expect([then.headers.get('etag'), then.body.label]).toEqual([`"${first}"`, 'Troops deployed']);

    const composite = await publish(subjects().metric('killed_or_wounded'), 'MetricDefined', {
      metric: 'killed_or_wounded',
      label: 'Killed or wounded',
      unit: 'persons',
      aggregation: 'cumulative',
      composedOf: ['killed', 'wounded'],
    });
    const list = await p.get(`/v1/metrics?minSeq=${composite}`);
    expect(list.status).toBe(200);
    expect(list.body.nextCursor).toBeNull();
    // Ingest may define the metrics its claims name (killed, wounded): the ones defined here are these.
    const mine = ['deployed', 'killed_or_wounded', 'reinforcements'];
    expect(list.body.metrics.filter((m: { metric: string }) => mine.includes(m.metric))).toEqual([
      { metric: 'deployed', label: 'Troops deployed in Russia', unit: 'persons', aggregation: 'stock', seq: relabel },
      {
        metric: 'killed_or_wounded',
        label: 'Killed or wounded',
        unit: 'persons',
        aggregation: 'cumulative',
        composedOf: ['killed', 'wounded'],
        seq: composite,
      },
      {
        metric: 'reinforcements',
        label: 'Reinforcements sent in the period',
        unit: 'persons',
        aggregation: 'incremental',
        seq: expect.any(Number),
      },
    ]);
    // Pages of one definition each, joined, are the whole list, in byte order of metric.
    const names = (body: { metrics: { metric: string }[] }) => body.metrics.map((m) => m.metric);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await p.get(`/v1/metrics?limit=1${cursor === null ? '' : `&cursor=${cursor}`}`);
      paged.push(...names(page.body));
      cursor = page.body.nextCursor;
    } while (cursor !== null && paged.length < 20);
    expect(paged).toEqual(names(list.body));
    expect(paged).toEqual([...paged].sort());
    const before = await p.get('/v1/metrics?knownAt=2020-01-01T00:00:00Z');
    expect([before.status, before.body.metrics]).toEqual([200, []]);
  });

  it('refuses a bad metric slug, a bad cursor and an unknown parameter with 400 naming it', async () => {
    expect((await p.get('/v1/metrics/Killed')).status).toBe(400);
    const cursor = await p.get('/v1/metrics?cursor=not-ours!');
    expect([cursor.status, cursor.body.errors[0].path]).toEqual([400, 'query:/cursor']);
    const extra = await p.get('/v1/metrics/deployed?colour=red');
    expect([extra.status, extra.body.errors[0].path]).toEqual([400, 'query:/colour']);
  });

  it('are in the OpenAPI document', async () => {
    const doc = await p.get('/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/metrics', '/v1/metrics/{metric}']));
  });
});
