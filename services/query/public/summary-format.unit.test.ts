import { describe, expect, it } from 'vitest';
import {
  checkGroups,
  conflictText,
  exceedsText,
  leftOffText,
  pairParts,
  pairText,
  statedText,
  unalignedText,
} from './summary-format.js';

const nis = { id: 'kr-nis', name: 'National Intelligence Service (South Korea)' };
const ua = { id: 'ua-president', name: 'President of Ukraine' };
const us = { id: 'us-government' };

const check = (componentSource: typeof nis, compositeSource: { id: string; name?: string }, id: string) => ({
  id,
  componentSource,
  compositeSource,
  status: 'gap',
  exceeding: [] as string[],
  componentClaims: [
    { claimId: `${id}-k`, metric: 'killed', statedAt: '2025-01' },
    { claimId: `${id}-w`, metric: 'wounded', statedAt: '2025-01' },
  ],
  compositeClaim: { statedAt: '2025-01-05' },
});

describe('checks grouped per pair of sources', () => {
  it('groups the listed checks by pair, pairs with checks first, pairs only too far apart after', () => {
    const a = check(nis, ua, 'a');
    const b = check(nis, us, 'b');
    const c = check(nis, ua, 'c');
    const groups = checkGroups({
      checks: [a, b, c],
      sourcePairs: [
        { componentSource: nis, compositeSource: nis, checks: 0, unaligned: 2 },
        { componentSource: nis, compositeSource: ua, checks: 2, unaligned: 1 },
        { componentSource: nis, compositeSource: us, checks: 1, unaligned: 0 },
      ],
    });
    expect(groups.map((g) => [g.compositeSource.id, g.checks.map((x) => x.id), g.unaligned])).toEqual([
      ['ua-president', ['a', 'c'], 1],
      ['us-government', ['b'], 0],
      ['kr-nis', [], 2],
    ]);
  });

  it('gives a check whose pair is not listed a group of its own', () => {
    const groups = checkGroups({ checks: [check(nis, us, 'x')], sourcePairs: [] });
    expect(groups.map((g) => [g.componentSource.id, g.compositeSource.id, g.checks.length, g.unaligned])).toEqual([
      ['kr-nis', 'us-government', 1, 0],
    ]);
  });

  it('words a pair, the pairs too far apart, a part above the total and the dates', () => {
    expect(pairText({ componentSource: nis, compositeSource: ua })).toBe(
      "National Intelligence Service (South Korea)'s parts against President of Ukraine's total",
    );
    expect(pairText({ componentSource: nis, compositeSource: nis })).toBe(
      "National Intelligence Service (South Korea)'s parts against its own total",
    );
    expect(pairParts({ componentSource: nis, compositeSource: ua })).toEqual([
      nis,
      "'s parts against ",
      ua,
      "'s total",
    ]);
    expect(unalignedText(2, 31)).toBe('2 pairs of claims too far apart in time to check (over 31 days)');
    expect(unalignedText(1, 1)).toBe('1 pair of claims too far apart in time to check (over 1 day)');
    const over = { ...check(nis, us, 'o'), status: 'part_exceeds_total', exceeding: ['o-w'] };
    expect(exceedsText(over)).toBe(' · wounded alone exceeds the total');
    expect(exceedsText({ ...over, exceeding: ['o-k', 'o-w'] })).toBe(' · killed and wounded alone exceed the total');
    expect(exceedsText(check(nis, us, 'n'))).toBe('');
    expect(statedText(over)).toBe(' · stated 2025-01 and 2025-01-05');
  });

  it('says what the lists left out, and nothing when they are whole', () => {
    expect(leftOffText({ checksLeftOff: 0, sourcePairsLeftOff: 0, compositesNotPaired: 0 })).toBeNull();
    expect(leftOffText({ checksLeftOff: 1200, sourcePairsLeftOff: 3, compositesNotPaired: 1 })).toBe(
      '1,200 more checks not listed · 3 more pairs of sources not listed · 1 older total not paired',
    );
  });
});

describe('conflicts', () => {
  it('writes who lies below whom, the gap and the days between', () => {
    const a = { source: { id: 'kr' }, statedAt: '2025-03-11', low: 1000, high: 2000 };
    const b = { source: ua, statedAt: '2025-03-01', low: 3800, high: 4200 };
    expect(conflictText({ a, b, gap: 1800, days: 10 })).toBe(
      'kr: [1,000, 2,000] (2025-03-11) vs President of Ukraine: [3,800, 4,200] (2025-03-01) · gap 1,800, 10 days apart',
    );
    // An open bound, and two figures for the same time.
    expect(conflictText({ a: { ...a, low: null, high: 30 }, b: { ...b, high: null }, gap: 3770, days: 0 })).toBe(
      'kr: [0, 30] (2025-03-11) vs President of Ukraine: [3,800, ∞] (2025-03-01) · gap 3,770, same time',
    );
  });
});
