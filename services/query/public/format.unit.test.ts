import { describe, expect, it } from 'vitest';
import {
  changeText,
  changesText,
  checkParts,
  checkText,
  count,
  dateSeconds,
  dateText,
  envelopeText,
  figureText,
  fmt,
  gapText,
  hullText,
  instantText,
  intervalText,
  liveText,
  metricMetaText,
  metricSummaryText,
  metricTitle,
  publishedStepText,
  revisionWord,
  sourceName,
  spanText,
  statedChange,
  topicTitle,
  valueText,
  viaText,
  when,
} from './format.js';

describe('numbers and values', () => {
  it('writes numbers with thousands separators, a missing one as ?', () => {
    expect(fmt(12500)).toBe('12,500');
    expect(fmt(0)).toBe('0');
    expect(fmt(1.5)).toBe('1.5');
    expect(fmt(null)).toBe('?');
    expect(fmt(undefined)).toBe('?');
  });

  it('writes each kind of stated value as it was qualified', () => {
    expect(valueText({ kind: 'exact', value: 2700 })).toBe('2,700');
    expect(valueText({ kind: 'approx', value: 300 })).toBe('≈300');
    expect(valueText({ kind: 'range', low: 10000, high: 12000 })).toBe('10,000–12,000');
    expect(valueText({ kind: 'range', low: 55298, best: 64260, high: 78525 })).toBe('55,298–78,525');
    expect(valueText({ kind: 'at_least', value: 600 })).toBe('≥600');
    expect(valueText({ kind: 'at_most', value: 30 })).toBe('≤30');
    expect(valueText({ kind: 'guess', value: 1 } as never)).toBe('?');
  });

  it('writes intervals, open above as ∞', () => {
    expect(intervalText({ low: 2985, high: 3015 })).toBe('[2,985, 3,015]');
    expect(intervalText({ low: 600, high: null })).toBe('[600, ∞]');
  });

  it('counts in the singular and the plural', () => {
    expect(count(1, 'claim')).toBe('1 claim');
    expect(count(0, 'claim')).toBe('0 claims');
    expect(count(2, 'source')).toBe('2 sources');
  });
});

describe('dates', () => {
  it('writes instants in UTC whatever the zone of the machine', () => {
    expect(when('2025-02-12T10:30:00.000Z')).toBe('12 Feb 2025, 10:30:00 UTC');
    expect(when('2025-02-12T23:30:00-05:00')).toBe('13 Feb 2025, 04:30:00 UTC');
  });

  it('places a fuzzy date at its start, in seconds', () => {
    expect(dateSeconds('2025')).toBe(Date.UTC(2025, 0, 1) / 1000);
    expect(dateSeconds('2025-02')).toBe(Date.UTC(2025, 1, 1) / 1000);
    expect(dateSeconds('2025-02-14')).toBe(Date.UTC(2025, 1, 14) / 1000);
    expect(dateSeconds('2025-02-14T12:00:00Z')).toBe(Date.UTC(2025, 1, 14, 12) / 1000);
    expect(dateSeconds('not a date')).toBeNaN();
  });

  it('writes a span of two dates, one date when they are the same', () => {
    expect(spanText('2025-01', '2025-02')).toBe('2025-01 to 2025-02');
    expect(spanText('2025-01', '2025-01')).toBe('2025-01');
  });

  it('writes a step of the slider, and the live end past the last instant', () => {
    expect(instantText({ knownAt: '2025-03-01T08:00:00Z', seq: 12, types: ['ClaimRecorded', 'ReportFiled'] })).toBe(
      '1 Mar 2025, 08:00:00 UTC (seq 12: ClaimRecorded, ReportFiled)',
    );
    expect(instantText(undefined)).toBe('now (live)');
  });
});

describe('names', () => {
  it('names a source, a metric and a topic by their label, else their slug', () => {
    expect(sourceName({ id: 'kr-nis', name: 'National Intelligence Service' })).toBe('National Intelligence Service');
    expect(sourceName({ id: 'kr-nis' })).toBe('kr-nis');
    expect(metricTitle({ metric: 'killed', label: 'Killed' })).toBe('Killed');
    expect(metricTitle({ metric: 'killed', label: null })).toBe('killed');
    expect(topicTitle({ topic: 'dprk-troops-in-russia', label: 'North Korean troops in Russia' })).toBe(
      'North Korean troops in Russia',
    );
    expect(topicTitle({ topic: 'dprk-troops-in-russia' })).toBe('dprk-troops-in-russia');
    expect(topicTitle({ topic: 'dprk-troops-in-russia', label: null })).toBe('dprk-troops-in-russia');
    expect(topicTitle({ topic: 'dprk-troops-in-russia', label: '  ' })).toBe('dprk-troops-in-russia');
  });

  it('writes the attribution chain, empty when the claim is direct', () => {
    expect(
      viaText([
        { id: 'a-spokesperson', role: 'spokesperson' },
        { id: 'tass', role: 'relay' },
      ]),
    ).toBe('a-spokesperson (spokesperson) → tass (relay)');
    expect(
      viaText([
        { id: 'un-ocha', role: 'relay', name: 'UN Office for the Coordination of Humanitarian Affairs' },
        { id: 'tass', role: 'publisher' },
      ]),
    ).toBe('UN Office for the Coordination of Humanitarian Affairs (relay) → tass (publisher)');
    expect(viaText([])).toBe('');
    expect(viaText(undefined)).toBe('');
  });

  it('names revisions in words and an unknown type as it is, not as an Object property', () => {
    expect(revisionWord('ClaimCited')).toBe('Cited again');
    expect(revisionWord('ClaimCorrected')).toBe('Corrected');
    expect(revisionWord('ClaimMerged')).toBe('ClaimMerged');
    expect(revisionWord('constructor')).toBe('constructor');
  });
});

describe('sentences of the views', () => {
  it('sums up a metric in the topics list', () => {
    const m = { metric: 'killed', claims: 1, sources: 1, firstStatedAt: '2025-01', lastStatedAt: '2025-01' };
    expect(metricSummaryText(m)).toBe('killed: 1 claim from 1 source, stated 2025-01');
    expect(metricSummaryText({ ...m, claims: 3, sources: 2, lastStatedAt: '2025-02' })).toBe(
      'killed: 3 claims from 2 sources, stated 2025-01 to 2025-02',
    );
  });

  it("writes a metric heading's slug, unit and aggregation when it has them", () => {
    expect(metricMetaText({ metric: 'killed', unit: 'persons', aggregation: 'cumulative' })).toBe(
      ' killed · persons · cumulative',
    );
    expect(metricMetaText({ metric: 'killed', unit: null })).toBe(' killed');
  });

  it("writes a source's change from its previous figure: up, down, none, or not comparable", () => {
    const previous = { value: { kind: 'approx' as const, value: 300 }, statedAt: '2025-01', best: 300 };
    expect(changeText({ previous, best: 315 })).toBe(' · ▲ +15 from ≈300 (2025-01)');
    expect(changeText({ previous, best: -900 })).toBe(' · ▼ −1,200 from ≈300 (2025-01)');
    expect(changeText({ previous, best: 300 })).toBe(' · ± 0 from ≈300 (2025-01)');
    // An at_least or a bare range has no centre a source stated: no change is made up.
    expect(changeText({ previous, best: null })).toBe(' · was ≈300 (2025-01)');
    const range = { value: { kind: 'range' as const, low: 10000, high: 12000 }, statedAt: '2024-11', best: null };
    expect(changeText({ previous: range, best: 15000 })).toBe(' · was 10,000–12,000 (2024-11)');
  });

  it('computes changes only between centres a source stated (best: exact, approx, a range with a best)', () => {
    expect(statedChange({ best: 300 }, { best: 600 })).toBe(300);
    expect(statedChange({ best: 64260 }, { best: 60000 })).toBe(-4260);
    expect(statedChange({ best: null }, { best: 600 })).toBeNull();
    expect(statedChange({ best: 300 }, { best: null })).toBeNull();
    expect(statedChange({}, { best: 300 })).toBeNull();
  });

  it('writes the envelope of figures ignoring missing bounds, never as 0', () => {
    const atMost = { low: null, best: null, high: 30 };
    const range = { low: 10000, best: null, high: 12000 };
    const exact = { low: 15000, best: 15000, high: 15000 };
    expect(hullText([range, exact])).toBe('Envelope across 2 sources: 10,000 – 15,000');
    expect(hullText([atMost, range])).toBe('Envelope across 2 sources: 30 – 12,000 (open bounds not counted)');
    expect(hullText([{ low: 600, best: null, high: null }, exact])).toBe(
      'Envelope across 2 sources: 600 – 15,000 (open bounds not counted)',
    );
    expect(hullText([])).toBeNull();
  });

  it('writes the envelope, open when a source gives no upper bound', () => {
    expect(envelopeText({ sources: 2, minLow: 1140, maxHigh: 4200 })).toBe('Envelope across 2 sources: 1,140 – 4,200');
    expect(envelopeText({ sources: 1, minLow: 600, maxHigh: null })).toBe('Envelope across 1 source: 600 – open');
  });

  it("writes the demo's composite check with its gap of 785", () => {
    const check = {
      componentSource: { id: 'kr-nis', name: 'National Intelligence Service (South Korea)' },
      compositeSource: { id: 'ua-president', name: 'President of Ukraine' },
      components: ['killed', 'wounded'],
      sum: { low: 2985, high: 3015 },
      against: { low: 3800, high: 4200 },
      gap: 785,
      direction: 'below',
      validSpreadDays: 40,
      toleranceDays: 31,
    };
    expect(checkText(check)).toBe(
      'National Intelligence Service (South Korea): killed + wounded = [2,985, 3,015] vs President of Ukraine: [3,800, 4,200]',
    );
    expect(checkParts(check)).toEqual([
      check.componentSource,
      ': killed + wounded = [2,985, 3,015] vs ',
      check.compositeSource,
      ': [3,800, 4,200]',
    ]);
    expect(gapText(check)).toBe(' · gap 785 (sum below)');
  });

  it("writes a claim's figure in full and a correction's changes", () => {
    expect(
      figureText({
        value: { kind: 'approx', value: 300 },
        unit: 'persons',
        low: 285,
        best: 300,
        high: 315,
        rule: 'approx-digits@1',
      }),
    ).toBe('≈300 persons (low 285, best 300, high 315; rule approx-digits@1)');
    expect(
      figureText({
        value: { kind: 'at_least', value: 600 },
        unit: 'persons',
        low: 600,
        best: null,
        high: null,
        rule: 'r',
      }),
    ).toBe('≥600 persons (low 600, best ?, high ?; rule r)');
    expect(changesText({ value: { kind: 'exact', value: 550 }, statedAt: '2025-02', quote: null })).toBe(
      'value → 550; statedAt → "2025-02"; quote → null',
    );
    // With what the correction replaced: before → after.
    expect(
      changesText(
        { value: { kind: 'exact', value: 550 }, statedAt: '2025-02', quote: 'new' },
        { value: { kind: 'exact', value: 500 }, statedAt: '2025-01', quote: null },
      ),
    ).toBe('value: 500 → 550; statedAt: "2025-01" → "2025-02"; quote: null → "new"');
  });

  it('writes a date as precise as it was given, and the steps of the "published by" slider', () => {
    expect(dateText('2024-11-13')).toBe('13 Nov 2024');
    expect(dateText('2024-03')).toBe('Mar 2024');
    expect(dateText('2024')).toBe('2024');
    expect(dateText('2025-03-01T08:00:00Z')).toBe('1 Mar 2025, 08:00:00 UTC');
    expect(publishedStepText({ publishedAt: '2024-11-13', to: '2024-11-14T00:00:00.000Z', reports: 2 })).toBe(
      '13 Nov 2024 (2 reports)',
    );
    expect(publishedStepText({ publishedAt: '2025-02', to: '2025-03-01T00:00:00.000Z', reports: 1 })).toBe(
      'Feb 2025 (1 report)',
    );
    expect(publishedStepText(undefined)).toBe('now (everything published)');
  });

  it('writes the live line: refused, pinned to a past instant, live, or connecting', () => {
    const base = { refused: false, knownAt: null, liveSeq: 0, shownSeq: 0 };
    expect(liveText({ ...base, refused: true, liveSeq: 9 })).toBe('Live updates need a read token');
    expect(liveText(base)).toBe('Connecting…');
    expect(liveText({ ...base, liveSeq: 17, shownSeq: 17 })).toBe('Live · seq 17');
    const past = { ...base, knownAt: '2025-03-01T08:00:00.000Z', liveSeq: 17 };
    expect(liveText({ ...past, shownSeq: 17 })).toBe('Viewing what was known on 1 Mar 2025, 08:00:00 UTC');
    expect(liveText({ ...past, shownSeq: 12 })).toBe(
      'Viewing what was known on 1 Mar 2025, 08:00:00 UTC · newer data exists',
    );
  });
});
