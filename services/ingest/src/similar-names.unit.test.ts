import { describe, expect, it } from 'vitest';
import { editDistanceWithin, newMetricMessage, similarNames } from './similar-names.ts';

describe('editDistanceWithin', () => {
  it.each([
    ['killed', 'killed', 0],
    ['kiled', 'killed', 1],
    ['kileld', 'killed', 2],
    ['wounded', 'woudned', 2],
    ['deployed', 'killed', undefined],
    ['a', 'abcd', undefined],
    ['', 'ab', 2],
  ])('%s ↔ %s: %s', (a, b, d) => {
    expect(editDistanceWithin(a, b, 2)).toBe(d);
    expect(editDistanceWithin(b, a, 2)).toBe(d);
  });
});

describe('similarNames', () => {
  const defined = ['killed', 'wounded', 'killed_or_wounded', 'deployed', 'reinforcements'];
  it('finds typos and prefixes, closest first, never the name itself', () => {
    expect(similarNames('kiled', defined)).toEqual(['killed']);
    expect(similarNames('killed_or', defined)).toEqual(['killed', 'killed_or_wounded']);
    expect(similarNames('killed', defined)).toEqual(['killed_or_wounded']);
    expect(similarNames('captured', defined)).toEqual([]);
    expect(similarNames('deploy', defined)).toEqual(['deployed']);
  });
  it('names at most three', () => {
    expect(similarNames('ab', ['ab1', 'ab2', 'ab3', 'ab4', 'abcdef'])).toEqual(['ab1', 'ab2', 'ab3']);
  });
});

describe('newMetricMessage', () => {
  it("says the contract's words", () => {
    expect(newMetricMessage('kiled', ['killed'])).toBe(
      'new metric kiled; a defined metric with a similar name: killed',
    );
    expect(newMetricMessage('captured', [])).toBe('new metric captured');
    expect(newMetricMessage('killed_or', ['killed', 'killed_or_wounded'])).toBe(
      'new metric killed_or; defined metrics with similar names: killed, killed_or_wounded',
    );
  });
});
