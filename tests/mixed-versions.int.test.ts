// A stream written by the first release (version 1 events, as they were stored) and then by today's
// ingest (version 2: qualifiers, notes, named hops, report kinds, ranges with a best, corrections of
// the source) folds through the one upcasting pipeline: `audit verify` holds on it, which replays it
// into a scratch schema and finds the live read models equal, and the old claims keep their ids.
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { rebuildIdentityIndex, runVerify } from '@claimtrail/audit';
import { openBuckets } from '@claimtrail/shared/nats';
import { createSubjects } from '@claimtrail/shared/events';
import { startProduct, type Product } from './helpers/product.ts';

let p: Product;
const TOPIC = 'dprk-troops-in-russia';
const OLD_CLAIM = 'clm_00000000000000000000c0de';
const OLD_REPORT = 'rpt_00000000000000000000c0de';

const v1 = (type: string, n: number, data: Record<string, unknown>) =>
  JSON.stringify({
    eventId: `0190a0b0-0000-7000-8000-0000000001${String(n).padStart(2, '0')}`,
    type,
    version: 1,
    recordedAt: `2025-01-20T00:00:0${n}.000Z`,
    actor: 'alice',
    requestId: `req-old-${n}`,
    data,
  });

beforeAll(async () => {
  p = await startProduct('mixed-versions');
  const s = createSubjects(p.env.subjectPrefix);
  const js = jetstream(p.env.nc);
  // The first release's events.
  await js.publish(
    s.report(OLD_REPORT),
    v1('ReportSubmitted', 1, {
      reportId: OLD_REPORT,
      url: 'https://example.org/old-report',
      publisher: 'Yonhap',
      publishedAt: '2025-01-13',
      claimCount: 1,
    }),
  );
  await js.publish(
    s.claim(TOPIC, OLD_CLAIM),
    v1('ClaimRecorded', 2, {
      claimId: OLD_CLAIM,
      reportId: OLD_REPORT,
      topic: TOPIC,
      metric: 'killed',
      value: { kind: 'approx', value: 300 },
      unit: 'persons',
      sourceId: 'kr-nis',
      via: [{ id: 'kr-lawmaker', role: 'briefer' }],
      statedAt: '2025-01-13',
      validFrom: '2024-12',
      validTo: '2025-01-13',
      quote: 'about 300 killed',
    }),
  );
  await js.publish(
    s.claim(TOPIC, OLD_CLAIM),
    v1('ClaimCited', 3, { claimId: OLD_CLAIM, reportId: OLD_REPORT, via: [{ id: 'yonhap', role: 'relay' }] }),
  );
  await js.publish(
    s.claim(TOPIC, OLD_CLAIM),
    v1('ClaimCorrected', 4, { claimId: OLD_CLAIM, changes: { quote: 'about 300 were killed' }, reason: 'quote' }),
  );
  // The upgrade: `claimtrail migrate` builds the identity index from the stream (the old claim's id
  // is not the one today's identity gives it). The running ingest's mirror learns it from its watch.
  await rebuildIdentityIndex(p.env.nc, {
    stream: p.env.stream,
    subjectPrefix: p.env.subjectPrefix,
    kv: (await openBuckets(p.env.nc, p.env.stream)).identities,
    quiet: true,
  });
  await sleep(500);
  // Today's ingest.
  const posted = await p.post('/v1/reports', {
    report: { url: 'https://example.org/new-report', publisher: 'Reuters', publishedAt: '2025-02-01', kind: 'news' },
    claims: [
      {
        topic: TOPIC,
        metric: 'killed',
        value: { kind: 'range', low: 300, high: 600, best: 400 },
        source: { id: 'ua-gur', name: 'Ukraine’s military intelligence', kind: 'intelligence_agency' },
        via: [{ id: 'reuters', role: 'relay', name: 'Reuters' }],
        confidence: 'moderate',
        likelihood: 'likely',
        note: 'excludes the wounded',
      },
      {
        topic: TOPIC,
        metric: 'killed',
        value: { kind: 'approx', value: 300 },
        source: { id: 'kr-nis' },
        statedAt: '2025-01-13',
        validFrom: '2024-12',
        validTo: '2025-01-13',
      },
    ],
  });
  expect(posted.status, JSON.stringify(posted.body)).toBe(202);
  const [fresh, echo] = posted.body.claims as { claimId: string; echo: boolean }[];
  expect(echo).toMatchObject({ claimId: OLD_CLAIM, echo: true });
  const corrected = await p.post(`/v1/claims/${fresh!.claimId}/corrections`, {
    changes: { source: { id: 'ua-hur', name: 'HUR' }, confidence: null },
    reason: 'attributed to the wrong agency',
  });
  expect(corrected.status).toBe(202);
  // Projected through the last event.
  expect((await p.get(`/v1/claims/${OLD_CLAIM}?minSeq=${corrected.body.seq}`)).status).toBe(200);
});
afterAll(async () => {
  await p?.stop();
});

describe('a stream of first-release and current events', () => {
  it('keeps the old claim under its id, cited by both reports, with its correction', async () => {
    const res = await p.get(`/v1/claims/${OLD_CLAIM}`);
    expect(res.status).toBe(200);
    expect(res.body.claim).toMatchObject({ quote: 'about 300 were killed', validFrom: '2024-12', corrected: true });
    expect((res.body.reports as { url: string }[]).map((r) => r.url)).toEqual([
      'https://example.org/old-report',
      'https://example.org/old-report',
      'https://example.org/new-report',
    ]);
  });

  it('passes audit verify: the chain, the ledger and a replay equal to the live read models', async () => {
    const report = await runVerify(
      {
        db: p.env.db,
        nc: p.env.nc,
        stream: p.env.stream,
        subjectPrefix: p.env.subjectPrefix,
        baseSchema: p.env.schema,
      },
      { batchSize: 100, progress: { quiet: true } },
    );
    expect(report.verdict).toBe('holds');
    expect(report.ok).toBe(true);
  });
});
