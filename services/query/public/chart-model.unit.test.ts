import { describe, expect, it } from 'vitest';
import type { ClaimValue } from '@claimtrail/shared/events';
import {
  axisDate,
  axisNumbers,
  axisSize,
  chartModel,
  compactNumber,
  endSeconds,
  hullOf,
  placeOf,
  spreadCoincident,
} from './chart-model.js';

const t = (iso: string) => Date.parse(iso) / 1000;
let seq = 0;

/** A history point as the API gives it, its bounds normalised as the contract says. */
function point(value: ClaimValue, o: { validFrom: string; validTo?: string; status?: string; claimId?: string }) {
  const [low, best, high] =
    value.kind === 'exact'
      ? [value.value, value.value, value.value]
      : value.kind === 'approx'
        ? [value.value * 0.95, value.value, value.value * 1.05]
        : value.kind === 'range'
          ? [value.low, value.best ?? null, value.high]
          : value.kind === 'at_least'
            ? [value.value, null, null]
            : [null, null, value.value];
  seq += 1;
  return {
    claimId: o.claimId ?? `clm_${seq}`,
    validFrom: o.validFrom,
    validTo: o.validTo ?? o.validFrom,
    value,
    low,
    best,
    high,
    status: o.status ?? 'active',
    seq,
  };
}
const source = (id: string, points: ReturnType<typeof point>[]) => ({ source: { id }, points });

describe('where a figure sits', () => {
  it('ends a fuzzy date where its interval ends', () => {
    expect(endSeconds('2025-01')).toBe(t('2025-02-01T00:00:00Z'));
    expect(endSeconds('2024-12')).toBe(t('2025-01-01T00:00:00Z'));
    expect(endSeconds('2024-02-29')).toBe(t('2024-03-01T00:00:00Z'));
    expect(endSeconds('2024')).toBe(t('2025-01-01T00:00:00Z'));
    expect(endSeconds('2025-03-13T10:00:00Z')).toBe(t('2025-03-13T10:00:00Z'));
  });

  it('puts a level at the end of the period it describes, not when it was stated', () => {
    // A study stated in January 2025 about the first half of 2024 sits at the start of July 2024.
    expect(placeOf({ validFrom: '2024-01', validTo: '2024-06' }, 'cumulative')).toEqual({
      x: t('2024-07-01T00:00:00Z'),
      x0: t('2024-07-01T00:00:00Z'),
      x1: t('2024-07-01T00:00:00Z'),
    });
    expect(placeOf({ validFrom: '2024-01', validTo: '2024-06' }, 'stock').x).toBe(t('2024-07-01T00:00:00Z'));
    // A metric nobody defined is cumulative.
    expect(placeOf({ validFrom: '2025-01', validTo: '2025-01' }, null).x).toBe(t('2025-02-01T00:00:00Z'));
  });

  it('spreads an incremental figure across its period', () => {
    expect(placeOf({ validFrom: '2024-10', validTo: '2024-11' }, 'incremental')).toEqual({
      x0: t('2024-10-01T00:00:00Z'),
      x1: t('2024-12-01T00:00:00Z'),
      x: (t('2024-10-01T00:00:00Z') + t('2024-12-01T00:00:00Z')) / 2,
    });
  });
});

describe('the lines', () => {
  it('join only centres a source stated: a bare range or an open bound is a gap, no made-up midpoint', () => {
    const m = chartModel(
      [
        source('a', [
          point({ kind: 'approx', value: 300 }, { validFrom: '2025-01' }),
          point({ kind: 'range', low: 500, high: 900 }, { validFrom: '2025-02' }),
          point({ kind: 'range', low: 500, best: 640, high: 900 }, { validFrom: '2025-03' }),
          point({ kind: 'at_least', value: 700 }, { validFrom: '2025-04' }),
        ]),
        source('b', [point({ kind: 'exact', value: 450 }, { validFrom: '2025-02-15' })]),
      ],
      { aggregation: 'cumulative', showRetracted: false },
    );
    expect(m.xs).toEqual(
      ['2025-02-01', '2025-02-16', '2025-03-01', '2025-04-01', '2025-05-01'].map((d) => t(`${d}T00:00:00Z`)),
    );
    // null: a gap in a's line; undefined: no figure of that source there (the line runs on).
    expect(m.lines).toEqual([
      [300, undefined, null, 640, null],
      [undefined, 450, undefined, undefined, undefined],
    ]);
  });

  it('draw no line between incremental figures', () => {
    const m = chartModel(
      [
        source('a', [
          point({ kind: 'exact', value: 100 }, { validFrom: '2025-01' }),
          point({ kind: 'exact', value: 900 }, { validFrom: '2025-02' }),
        ]),
      ],
      { aggregation: 'incremental', showRetracted: false },
    );
    expect(m.incremental).toBe(true);
    expect(m.lines).toEqual([[undefined, undefined]]);
  });

  it('hides retracted figures unless asked, and leaves out a source with nothing drawn', () => {
    const history = [
      source('a', [point({ kind: 'exact', value: 100 }, { validFrom: '2025-01' })]),
      source('gone', [point({ kind: 'exact', value: 200 }, { validFrom: '2025-01', status: 'retracted' })]),
    ];
    const hidden = chartModel(history, { aggregation: 'cumulative', showRetracted: false });
    expect(hidden.series.map((s) => s.source.id)).toEqual(['a']);
    const shown = chartModel(history, { aggregation: 'cumulative', showRetracted: true });
    expect(shown.series.map((s) => s.source.id)).toEqual(['a', 'gone']);
    // A retracted figure is struck out, never on a line: the line runs past it.
    expect(shown.lines[1]).toEqual([undefined]);
  });
});

describe('the envelope', () => {
  it('ignores missing bounds instead of counting them as 0', () => {
    expect(
      hullOf([
        { low: null, best: null, high: 30 },
        { low: 10000, best: null, high: 12000 },
      ]),
    ).toEqual({
      low: 30,
      high: 12000,
    });
    expect(
      hullOf([
        { low: 600, best: null, high: null },
        { low: 285, best: 300, high: 315 },
      ]),
    ).toEqual({
      low: 285,
      high: 600,
    });
    const m = chartModel(
      [
        source('a', [point({ kind: 'range', low: 10000, high: 12000 }, { validFrom: '2024-11' })]),
        source('b', [point({ kind: 'at_most', value: 15000 }, { validFrom: '2024-11' })]),
      ],
      { aggregation: 'stock', showRetracted: false },
    );
    expect(m.band).toEqual([{ x0: t('2024-12-01T00:00:00Z'), x1: null, low: 10000, high: 15000, sources: 2 }]);
  });

  it("of levels: at each place, every source's standing figure by then; only where two sources meet", () => {
    const m = chartModel(
      [
        source('a', [
          point({ kind: 'exact', value: 100 }, { validFrom: '2025-01' }),
          point({ kind: 'exact', value: 400 }, { validFrom: '2025-03' }),
        ]),
        source('b', [point({ kind: 'exact', value: 200 }, { validFrom: '2025-02' })]),
      ],
      { aggregation: 'cumulative', showRetracted: false },
    );
    expect(m.band).toEqual([
      { x0: t('2025-03-01T00:00:00Z'), x1: t('2025-04-01T00:00:00Z'), low: 100, high: 200, sources: 2 },
      { x0: t('2025-04-01T00:00:00Z'), x1: null, low: 200, high: 400, sources: 2 },
    ]);
  });

  it('of incremental figures: only across figures for the same period, never across periods', () => {
    const m = chartModel(
      [
        source('a', [
          point({ kind: 'exact', value: 100 }, { validFrom: '2025-01' }),
          point({ kind: 'exact', value: 900 }, { validFrom: '2025-02' }),
        ]),
        source('b', [
          point({ kind: 'range', low: 150, high: 300 }, { validFrom: '2025-01' }),
          point({ kind: 'exact', value: 50 }, { validFrom: '2025-03' }),
        ]),
      ],
      { aggregation: 'incremental', showRetracted: false },
    );
    expect(m.band).toEqual([
      { x0: t('2025-01-01T00:00:00Z'), x1: t('2025-02-01T00:00:00Z'), low: 100, high: 300, sources: 2 },
    ]);
  });

  it('does not count retracted figures, nor a superseded one where its source has a standing one', () => {
    const m = chartModel(
      [
        source('a', [
          point({ kind: 'exact', value: 100 }, { validFrom: '2025-01', status: 'superseded' }),
          point({ kind: 'exact', value: 150 }, { validFrom: '2025-01' }),
        ]),
        source('b', [
          point({ kind: 'exact', value: 120 }, { validFrom: '2025-01' }),
          point({ kind: 'exact', value: 9000 }, { validFrom: '2025-01', status: 'retracted' }),
        ]),
      ],
      { aggregation: 'cumulative', showRetracted: true },
    );
    expect(m.band).toEqual([{ x0: t('2025-02-01T00:00:00Z'), x1: null, low: 120, high: 150, sources: 2 }]);
    expect(m.lines).toEqual([[150], [120]]);
  });
});

describe('the axes', () => {
  it('writes large numbers in compact form', () => {
    expect(compactNumber(950000)).toBe('950k');
    expect(compactNumber(1200000)).toBe('1.2M');
    expect(compactNumber(1000000)).toBe('1M');
    expect(compactNumber(12500)).toBe('12.5k');
    expect(compactNumber(1250000)).toBe('1.25M');
    expect(compactNumber(3e9)).toBe('3B');
    expect(compactNumber(950)).toBe('950');
  });

  it('labels a value axis in full below 10,000, else all compact, each short enough for the axis', () => {
    expect(axisNumbers([0, 2500, 5000, 7500])).toEqual(['0', '2,500', '5,000', '7,500']);
    expect(axisNumbers([0, 250000, 500000, 750000, 1000000])).toEqual(['0', '250k', '500k', '750k', '1M']);
    expect(axisNumbers([0, 2500, 10000])).toEqual(['0', '2.5k', '10k']);
    const labels = axisNumbers([0, 1100000]);
    expect(axisSize(labels)).toBeGreaterThanOrEqual(22 + 7.5 * Math.max(...labels.map((l) => l.length)));
    expect(axisSize(['1,000,000'])).toBeGreaterThan(axisSize(['1M']));
  });

  it('writes dates as "13 Mar 2024", "Mar 2024" or "2024", never "3/13"', () => {
    const DAY = 86400;
    const s = t('2024-03-13T00:00:00Z');
    expect(axisDate(s, DAY)).toBe('13 Mar 2024');
    expect(axisDate(s, 7 * DAY)).toBe('13 Mar 2024');
    expect(axisDate(t('2024-03-01T00:00:00Z'), 30 * DAY)).toBe('Mar 2024');
    expect(axisDate(t('2024-01-01T00:00:00Z'), 365 * DAY)).toBe('2024');
    expect(axisDate(t('2024-03-13T14:00:00Z'), 3600)).toBe('13 Mar 2024 14:00');
  });
});

describe('coincident markers', () => {
  it('spreads markers of different sources at one spot side by side, and leaves the others', () => {
    const offsets = spreadCoincident(
      [
        { x: 100, y: 50, sid: 'a' },
        { x: 100.2, y: 50.1, sid: 'b' },
        { x: 100, y: 50, sid: 'c' },
        { x: 300, y: 50, sid: 'a' },
        { x: 400, y: 80, sid: 'a' },
        { x: 400, y: 80, sid: 'a' },
      ],
      10,
    );
    expect(offsets).toEqual([-10, 0, 10, 0, 0, 0]);
  });
});
