// format.js's sentences about sources and their records (the source page).
import { describe, expect, it } from 'vitest';
import { checkCountsText, revisionsText, sourceCountsText, sourceMetaText, stepText } from './format.js';

const end = (claimId: string, statedAt: string, best: number) => ({ claimId, statedAt, best });

describe('a source', () => {
  it('writes its kind and country, leaving out what it lacks', () => {
    expect(sourceMetaText({ kind: 'military', country: 'UA' })).toBe('military · UA');
    expect(sourceMetaText({ kind: null, country: 'KR' })).toBe('KR');
    expect(sourceMetaText({})).toBe('');
  });

  it('writes its counts, corrected and retracted only when there are some', () => {
    const s = { claims: 11, topics: 2, firstStatedAt: '2025-01-01', lastStatedAt: '2025-03-15' };
    expect(sourceCountsText({ ...s, corrected: 1, retracted: 1200 })).toBe(
      '11 claims in 2 topics, stated 2025-01-01 to 2025-03-15 · 1 corrected · 1,200 retracted',
    );
    expect(
      sourceCountsText({ ...s, claims: 1, topics: 1, lastStatedAt: '2025-01-01', corrected: 0, retracted: 0 }),
    ).toBe('1 claim in 1 topic, stated 2025-01-01');
    expect(
      sourceCountsText({ claims: 0, topics: 0, firstStatedAt: null, lastStatedAt: null, corrected: 0, retracted: 0 }),
    ).toBe('No claims of its own');
  });
});

describe('a source’s record', () => {
  it('writes a revision step with its sign, its size and the days between', () => {
    expect(stepText({ from: end('a', '2025-01-01', 110), to: end('b', '2025-01-11', 150), change: 40, days: 10 })).toBe(
      '110 (2025-01-01) → 150 (2025-01-11): ▲ +40 in 10 days',
    );
    expect(
      stepText({ from: end('a', '2025-01', 12000), to: end('b', '2025-02', 10500.5), change: -1499.5, days: 31 }),
    ).toBe('12,000 (2025-01) → 10,500.5 (2025-02): ▼ −1,499.5 in 31 days');
    expect(stepText({ from: end('a', '2025-01-01', 5), to: end('b', '2025-01-02', 5), change: 0, days: 1 })).toBe(
      '5 (2025-01-01) → 5 (2025-01-02): ± 0 in 1 day',
    );
  });

  it('sums up its revisions of a metric', () => {
    expect(revisionsText({ figures: 3, revisions: 2, meanAbsChange: 1250 })).toBe(
      '3 figures with a stated centre, 2 revisions, a mean change of 1,250',
    );
    expect(revisionsText({ figures: 1, revisions: 0, meanAbsChange: null })).toBe(
      '1 figure with a stated centre, no revision',
    );
  });

  it('counts its checks, consistent and gap first, other statuses only when they occur, then what was no check', () => {
    const checks = [{}, {}, {}];
    const none = { unaligned: 0, checksLeftOff: 0 };
    expect(checkCountsText({ byStatus: { consistent: 1, gap: 2 }, checks, ...none })).toBe('1 consistent · 2 gap');
    expect(
      checkCountsText({ byStatus: { consistent: 0, gap: 2, part_exceeds_total: 1, other: 0 }, checks, ...none }),
    ).toBe('0 consistent · 2 gap · 1 part exceeds total');
    expect(checkCountsText({ byStatus: { consistent: 1, gap: 2 }, checks, unaligned: 1, checksLeftOff: 2500 })).toBe(
      '1 consistent · 2 gap · 1 pair too far apart in time to check · 2,500 more not listed',
    );
    expect(checkCountsText({ byStatus: { consistent: 0, gap: 0 }, checks: [], ...none })).toBe(
      'No check against another source',
    );
    expect(checkCountsText({ byStatus: { consistent: 0, gap: 0 }, checks: [], unaligned: 3, checksLeftOff: 0 })).toBe(
      'No check against another source · 3 pairs too far apart in time to check',
    );
  });
});
