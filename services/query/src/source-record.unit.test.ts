import { describe, expect, it } from 'vitest';
import type { CompositeCheck } from '@claimtrail/shared/contract';
import {
  checksAgainstOthers,
  revisionSteps,
  SOURCE_CHECKS_LISTED,
  sourceRecord,
  type StatedFigure,
} from './source-record.ts';

const day = (d: string) => Date.parse(`${d}T00:00:00Z`);
let seq = 0;
const fig = (o: Partial<StatedFigure> & Pick<StatedFigure, 'statedAt' | 'best'>): StatedFigure => ({
  topic: 't',
  metric: 'killed',
  aggregation: 'cumulative',
  claimId: `c${++seq}`,
  statedFrom: day(o.statedAt),
  validFromAt: day(o.statedAt),
  validToAt: day(o.statedAt),
  seq,
  ...o,
});
let checks = 0;
const check = (component: string, composite: string, status: string, validTo = '2025-01'): CompositeCheck =>
  ({
    composite: 'killed_or_wounded',
    componentSource: { id: component },
    compositeSource: { id: composite },
    compositeClaim: { claimId: `k${String(++checks).padStart(3, '0')}`, validTo },
    status,
  }) as unknown as CompositeCheck;

describe('revisionSteps', () => {
  it('steps between successive figures in statedAt order, whatever order they come in', () => {
    const a = fig({ statedAt: '2025-01-01', best: 100 });
    const b = fig({ statedAt: '2025-03-02', best: 40.5 });
    const c = fig({ statedAt: '2025-01-31', best: 130 });
    const r = revisionSteps([a, b, c]).get('t\u0000killed')!;
    expect(r.figures).toBe(3);
    // 100 → 130 over 30 days, then 130 → 40.5 over 30 days (2025 is no leap year).
    expect(r.steps.map((s) => [s.from.claimId, s.to.claimId, s.change, s.days])).toEqual([
      [a.claimId, c.claimId, 30, 30],
      [c.claimId, b.claimId, -89.5, 30],
    ]);
  });

  it('keeps topics and metrics apart, and an incremental metric’s periods apart', () => {
    const oct = {
      aggregation: 'incremental',
      metric: 'daily',
      validFromAt: day('2024-10-01'),
      validToAt: day('2024-11-01'),
    };
    const nov = {
      aggregation: 'incremental',
      metric: 'daily',
      validFromAt: day('2024-11-01'),
      validToAt: day('2024-12-01'),
    };
    const r = revisionSteps([
      fig({ ...oct, statedAt: '2024-11-02', best: 1500 }),
      fig({ ...nov, statedAt: '2024-12-02', best: 1700 }),
      fig({ ...oct, statedAt: '2024-12-05', best: 1400 }),
      fig({ topic: 'u', statedAt: '2024-12-06', best: 5 }),
    ]);
    expect(r.get('t\u0000daily')!.steps.map((s) => [s.change, s.days])).toEqual([[-100, 33]]);
    expect(r.get('u\u0000killed')).toEqual({ figures: 1, steps: [] });
  });
});

describe('sourceRecord', () => {
  it('takes checks with another source on the other side, counted by status under the composite', () => {
    const checks = [
      check('a', 'b', 'gap'),
      check('a', 'c', 'consistent'),
      check('a', 'a', 'gap'),
      check('b', 'c', 'gap'),
      check('d', 'a', 'part_exceeds_total'),
    ];
    expect(checksAgainstOthers('a', 't', checks).map((c) => [c.topic, c.side, c.status])).toEqual([
      ['t', 'components', 'gap'],
      ['t', 'components', 'consistent'],
      ['t', 'composite', 'part_exceeds_total'],
    ]);
    const [entry, ...rest] = sourceRecord(
      'a',
      [
        fig({ statedAt: '2025-01-01', best: 10 }),
        fig({ statedAt: '2025-01-03', best: 4 }),
        fig({ statedAt: '2025-01-03', best: 4 }),
        fig({ statedAt: '2025-01-09', best: 12 }),
      ],
      [
        { topic: 't', metric: 'killed_or_wounded', checks: checks.slice(0, 3), unaligned: 2, checksLeftOff: 0 },
        { topic: 't', metric: 'killed_or_wounded', checks: checks.slice(3), unaligned: 1, checksLeftOff: 4 },
      ],
    );
    // 10 → 4 → 4 (restated the same day: a step, no revision) → 12: two revisions of 6 and 8.
    expect(entry).toMatchObject({ topic: 't', metric: 'killed', figures: 4, revisions: 2, meanAbsChange: 7 });
    expect(entry!.steps.map((s) => [s.change, s.days])).toEqual([
      [-6, 2],
      [0, 0],
      [8, 6],
    ]);
    expect(rest).toHaveLength(1);
    expect(rest[0]).toMatchObject({
      topic: 't',
      metric: 'killed_or_wounded',
      figures: 0,
      revisions: 0,
      meanAbsChange: null,
      steps: [],
      checks: {
        consistent: 1,
        gap: 1,
        byStatus: { consistent: 1, gap: 1, part_exceeds_total: 1 },
        unaligned: 3,
        checksLeftOff: 4,
      },
    });
    expect(rest[0]!.checks.checks).toHaveLength(3);
  });

  it('lists the newest checks of a topic and metric, counting every one by status and the rest as left off', () => {
    // 25 checks against b, one a day in January: the 20 listed are the 12th to the 31st, newest first.
    const days = Array.from({ length: 25 }, (_, i) => `2025-01-${String(i + 7).padStart(2, '0')}`);
    const cs = days.map((d, i) => check('a', 'b', i % 5 === 0 ? 'gap' : 'consistent', d));
    const [entry] = sourceRecord('a', [], [{ topic: 't', metric: 'kw', checks: cs, unaligned: 0, checksLeftOff: 3 }]);
    expect(SOURCE_CHECKS_LISTED).toBe(20);
    expect(entry!.checks.checks.map((c) => c.compositeClaim.validTo)).toEqual(days.slice(5).reverse());
    expect(entry!.checks).toMatchObject({ consistent: 20, gap: 5, checksLeftOff: 3 + 5 });
  });
});
