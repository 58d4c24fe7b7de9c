import { describe, expect, it } from 'vitest';
import { canonicalJson } from '@claimtrail/shared/events';
import { chainHash, GENESIS_HASH, uuidv7 } from '@claimtrail/shared/identity';
import { foldBatch, SeqGapError } from './fold.ts';
import type { FoldInput } from './fold-rows.ts';
import type { StreamMessage } from './stream-message.ts';

let n = 0;
function msg(
  seq: number,
  type: string,
  data: Record<string, unknown>,
  o: { recordedAt?: string; eventId?: string; subject?: string; version?: number } = {},
): StreamMessage {
  n += 1;
  const recordedAt = o.recordedAt ?? new Date(Date.UTC(2025, 1, 1, 0, 0, seq)).toISOString();
  const env = {
    eventId: o.eventId ?? uuidv7(Date.parse(recordedAt), `e${n}`),
    type,
    version: o.version ?? 1,
    recordedAt,
    actor: 'alice',
    requestId: 'r',
    data,
  };
  return { seq, subject: o.subject ?? `ct.x.${seq}`, payload: canonicalJson(env), time: recordedAt };
}
const empty = (): FoldInput => ({
  lastSeq: 0,
  chainHash: GENESIS_HASH,
  knownAt: null,
  claims: new Map(),
  sources: new Map(),
  metrics: new Map(),
  parked: new Map(),
  seenEventIds: new Map(),
  reports: new Set(),
});
const C1 = 'clm_000000000000000000000001';
const R1 = 'rpt_000000000000000000000001';
const recorded = (claimId = C1, over: Record<string, unknown> = {}) => ({
  claimId,
  reportId: R1,
  topic: 'dprk-troops-in-russia',
  metric: 'killed',
  value: { kind: 'approx', value: 300 },
  unit: 'persons',
  sourceId: 'kr-nis',
  via: [],
  statedAt: '2025-01',
  validFrom: '2024-10',
  validTo: '2025-01',
  ...over,
});

describe('folding a batch', () => {
  it('records a claim with normalised bounds, its citation and revision, and chains the ledger', () => {
    const ms = [
      msg(1, 'ReportSubmitted', {
        reportId: R1,
        url: 'https://x.org/',
        publisher: 'P',
        publishedAt: '2025-02-20',
        claimCount: 1,
      }),
      msg(2, 'ClaimRecorded', recorded()),
    ];
    const out = foldBatch(empty(), ms, 'approx-5pct@1');
    expect(out.applied).toBe(2);
    expect(out.lastSeq).toBe(2);
    expect(out.claimVersions).toHaveLength(1);
    expect(out.claimVersions[0]).toMatchObject({
      low: 285,
      best: 300,
      high: 315,
      rule: 'approx-5pct@1',
      status: 'active',
      seq_from: 2,
      seq_to: null,
    });
    expect(out.claimVersions[0]).toMatchObject({
      stated_from: '2025-01-01T00:00:00.000Z',
      valid_from_at: '2024-10-01T00:00:00.000Z',
      valid_to_at: '2025-02-01T00:00:00.000Z',
    });
    expect(out.citations).toEqual([expect.objectContaining({ claim_id: C1, report_id: R1, echo: false })]);
    expect(out.revisions).toEqual([expect.objectContaining({ claim_id: C1, type: 'ClaimRecorded', actor: 'alice' })]);
    expect(out.ledger.map((l) => l.chain_hash)).toEqual([
      chainHash(GENESIS_HASH, ms[0]!.payload),
      chainHash(chainHash(GENESIS_HASH, ms[0]!.payload), ms[1]!.payload),
    ]);
    expect(out.chainHash).toBe(out.ledger[1]!.chain_hash);
  });

  it('closes versions in memory within a batch and against stored rows across batches', () => {
    const rec = msg(1, 'ClaimRecorded', recorded());
    const first = foldBatch(empty(), [rec], 'approx-5pct@1');
    const corr = msg(2, 'ClaimCorrected', {
      claimId: C1,
      changes: { value: { kind: 'exact', value: 350 } },
      reason: 'typo',
    });
    const retr = msg(3, 'ClaimRetracted', { claimId: C1, reason: 'withdrawn', by: 'source' });
    // Same batch: the first version is closed in memory.
    const one = foldBatch(empty(), [rec, corr, retr], 'approx-5pct@1');
    expect(one.claimVersions.map((v) => [v.seq_from, v.seq_to, v.status])).toEqual([
      [1, 2, 'active'],
      [2, 3, 'corrected'],
      [3, null, 'retracted'],
    ]);
    expect(one.claimVersions[1]).toMatchObject({ low: 350, best: 350, high: 350 });
    expect(one.claimCloses).toEqual([]);
    // Next batch: the stored version is closed by an update.
    const input = {
      ...empty(),
      lastSeq: 1,
      chainHash: first.chainHash,
      knownAt: first.knownAt,
      claims: new Map([[C1, { ...first.claimVersions[0]! }]]),
    };
    const two = foldBatch(input, [corr], 'approx-5pct@1');
    expect(two.claimCloses).toEqual([{ claim_id: C1, seq_from: 1, seq_to: 2, known_to: two.knownAt }]);
    expect(two.chainHash).toBe(one.ledger[1]!.chain_hash);
  });

  it('parks an event that cannot be applied and every later event of that claim, and lets others flow', () => {
    const C2 = 'clm_000000000000000000000002';
    const out = foldBatch(
      empty(),
      [
        msg(1, 'ClaimCorrected', { claimId: C1, changes: { quote: 'x' }, reason: 'r' }),
        msg(2, 'ClaimRecorded', recorded(C1)),
        msg(3, 'ClaimRecorded', recorded(C2, { sourceId: 'us-government' })),
        { seq: 4, subject: 'ct.claim.t.x', payload: '{not json', time: '2025-02-01T00:00:04.000Z' },
      ],
      'approx-5pct@1',
    );
    expect(out.deadLetters.map((d) => [d.seq, d.claim_id])).toEqual([
      [1, C1],
      [2, C1],
      [4, null],
    ]);
    expect(out.deadLetters[0]!.reason).toMatch(/never recorded/);
    expect(out.deadLetters[1]!.reason).toMatch(/waiting behind the parked event at seq 1/);
    expect(out.deadLetters[2]!.reason).toMatch(/not JSON/);
    expect(out.claimVersions.map((v) => v.claim_id)).toEqual([C2]);
    expect(out.ledger.map((l) => l.seq)).toEqual([1, 2, 3, 4]);
  });

  it('drops a repeated event id (outside the duplicate window) and skips seqs at or below the checkpoint', () => {
    const a = msg(1, 'ClaimRecorded', recorded());
    const repeat = { ...a, seq: 2 };
    const out = foldBatch(empty(), [a, repeat], 'approx-5pct@1');
    expect(out.repeats).toEqual([{ seq: 2, event_id: JSON.parse(a.payload).eventId, first_seq: 1 }]);
    expect(out.ledger).toHaveLength(1);
    expect(out.lastSeq).toBe(2);
    const skipped = foldBatch({ ...empty(), lastSeq: 2 }, [a, repeat], 'approx-5pct@1');
    expect(skipped.ledger).toHaveLength(0);
    expect(skipped.lastSeq).toBe(2);
  });

  it('refuses a gap in the seqs when told every seq is an event, and folds nothing of the batch', () => {
    const a = msg(1, 'ClaimRecorded', recorded());
    const c = msg(3, 'ClaimRecorded', recorded('clm_000000000000000000000003'));
    expect(() => foldBatch(empty(), [a, c], 'approx-5pct@1', { contiguous: true })).toThrow(SeqGapError);
    expect(() => foldBatch({ ...empty(), lastSeq: 1 }, [c], 'approx-5pct@1', { contiguous: true })).toThrow(
      /expected stream seq 2 next, got 3/,
    );
    // Redelivered seqs at or below the checkpoint are no gap.
    expect(foldBatch({ ...empty(), lastSeq: 2 }, [a, c], 'approx-5pct@1', { contiguous: true }).lastSeq).toBe(3);
    // A filtered stream has seqs of other subjects between ours.
    expect(foldBatch(empty(), [a, c], 'approx-5pct@1').lastSeq).toBe(3);
  });

  it('keeps transaction time monotonic when ingest clocks disagree', () => {
    const out = foldBatch(
      empty(),
      [
        msg(1, 'ClaimRecorded', recorded(), { recordedAt: '2025-02-01T00:00:10.000Z' }),
        msg(2, 'ClaimRecorded', recorded('clm_000000000000000000000003'), { recordedAt: '2025-02-01T00:00:05.000Z' }),
      ],
      'approx-5pct@1',
    );
    expect(out.ledger.map((l) => l.known_at)).toEqual(['2025-02-01T00:00:10.000Z', '2025-02-01T00:00:10.000Z']);
    expect(out.claimVersions[1]!.recorded_at).toBe('2025-02-01T00:00:05.000Z');
  });

  it('merges source registrations and versions metric definitions', () => {
    const out = foldBatch(
      empty(),
      [
        msg(1, 'SourceRegistered', { sourceId: 'kr-nis', name: 'NIS' }),
        msg(2, 'SourceRegistered', { sourceId: 'kr-nis', country: 'KR' }),
        msg(3, 'SourceRegistered', { sourceId: 'kr-nis', country: 'KR' }),
        msg(4, 'MetricDefined', { metric: 'killed', label: 'Killed', unit: 'persons', aggregation: 'cumulative' }),
        msg(5, 'MetricDefined', {
          metric: 'killed',
          label: 'Killed (confirmed)',
          unit: 'persons',
          aggregation: 'cumulative',
        }),
      ],
      'approx-5pct@1',
    );
    expect(out.sourceVersions.map((s) => [s.seq_from, s.seq_to, s.name, s.country])).toEqual([
      [1, 2, 'NIS', null],
      [2, null, 'NIS', 'KR'],
    ]);
    expect(out.metricVersions.map((m) => [m.seq_from, m.seq_to, m.label])).toEqual([
      [4, 5, 'Killed'],
      [5, null, 'Killed (confirmed)'],
    ]);
  });

  it('derives bounds from the rule it is given, so a replay with a new rule re-derives them', () => {
    const ms = [msg(1, 'ClaimRecorded', recorded())];
    expect(foldBatch(empty(), ms, 'approx-10pct@1').claimVersions[0]).toMatchObject({
      low: 270,
      high: 330,
      rule: 'approx-10pct@1',
    });
    expect(() => foldBatch(empty(), ms, 'nope@1')).toThrow(/unknown normalisation rule/);
  });

  it('is deterministic', () => {
    const ms = [
      msg(1, 'ClaimRecorded', recorded()),
      msg(2, 'ClaimCited', { claimId: C1, reportId: R1, via: [{ id: 'x', role: 'relay' }] }),
    ];
    expect(foldBatch(empty(), ms, 'approx-5pct@1')).toEqual(foldBatch(empty(), ms, 'approx-5pct@1'));
  });
});

describe('what sources said besides the figure', () => {
  it('keeps confidence, likelihood, a note, named hops and a report kind; a version 1 event still folds', () => {
    const out = foldBatch(
      empty(),
      [
        msg(
          1,
          'ReportSubmitted',
          {
            reportId: R1,
            url: 'https://x.org/',
            publisher: 'P',
            publishedAt: '2025-02',
            claimCount: 2,
            kind: 'leaked_document',
          },
          { version: 2 },
        ),
        msg(
          2,
          'ClaimRecorded',
          recorded(C1, {
            confidence: 'moderate',
            likelihood: 'realistic possibility',
            note: 'excludes DPR/LPR militia',
            via: [{ id: 'un-ocha', role: 'relay', name: 'UN OCHA' }],
          }),
          { version: 2 },
        ),
        msg(3, 'ClaimRecorded', recorded('clm_000000000000000000000002'), { version: 1 }),
        msg(4, 'TopicDefined', { topic: 'dprk-troops-in-russia', label: 'North Korean troops in Russia' }),
      ],
      'approx-digits@1',
    );
    expect(out.deadLetters).toEqual([]);
    expect(out.reports[0]!.kind).toBe('leaked_document');
    expect(out.claimVersions[0]).toMatchObject({
      confidence: 'moderate',
      likelihood: 'realistic possibility',
      note: 'excludes DPR/LPR militia',
      via: [{ id: 'un-ocha', role: 'relay', name: 'UN OCHA' }],
      corrected: false,
    });
    expect(out.claimVersions[1]).toMatchObject({ confidence: null, likelihood: null, note: null, corrected: false });
    expect(out.topics).toEqual([
      {
        topic: 'dprk-troops-in-russia',
        seq: 4,
        known_at: out.ledger[3]!.known_at,
        label: 'North Korean troops in Russia',
        description: null,
      },
    ]);
  });

  it('moves a misattributed claim to its source, clears a qualifier, and records what the correction replaced', () => {
    const first = foldBatch(
      empty(),
      [msg(1, 'ClaimRecorded', recorded(C1, { confidence: 'high', note: 'n' }), { version: 2 })],
      'approx-digits@1',
    );
    const input = { ...empty(), lastSeq: 1, claims: first.after.claims };
    const out = foldBatch(
      input,
      [
        msg(
          2,
          'ClaimCorrected',
          {
            claimId: C1,
            changes: { source: { id: 'ua-president' }, confidence: null, value: { kind: 'exact', value: 310 } },
            reason: 'misattributed',
          },
          { version: 2 },
        ),
        msg(3, 'ClaimRetracted', { claimId: C1, reason: 'withdrawn', by: 'source' }),
      ],
      'approx-digits@1',
    );
    expect(out.claimVersions.map((v) => [v.source_id, v.status, v.corrected, v.confidence, v.note])).toEqual([
      ['ua-president', 'corrected', true, null, 'n'],
      ['ua-president', 'retracted', true, null, 'n'],
    ]);
    expect(out.revisions[0]!.before).toEqual({
      source: { id: 'kr-nis' },
      confidence: 'high',
      value: { kind: 'approx', value: 300 },
    });
    expect(out.revisions[1]!.before).toBeNull();
  });
});
