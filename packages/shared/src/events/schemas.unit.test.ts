import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { syntheticEvents } from '../testing/synthetic-events.ts';
import { dataSchemas, envelopeRuntimeSchema, envelopeSchema, eventSchemas, type EventType } from './schemas.ts';

/** Values a field is replaced with: wrong types, bounds, forbidden characters, odd numbers. */
const REPLACEMENTS: unknown[] = [
  undefined,
  null,
  '',
  'x',
  'x'.repeat(65),
  'x'.repeat(2001),
  'a\u202Eb',
  'a\u0000b',
  '\uD800',
  'dprk-troops',
  'killed_or_wounded',
  'clm_0123456789abcdef01234567',
  'rpt_0123456789abcdef01234567',
  '2025-02',
  '2025-02-30',
  '2025-02-21T10:00:00Z',
  '2025-02-21T10:00:00',
  0,
  -1,
  1.5,
  1.1234567,
  1e15,
  1e16,
  2 ** 53,
  true,
  [],
  [{ id: 'kr-nis', role: 'briefer' }],
  [{ id: 'kr-nis', role: 'nobody' }],
  new Array(9).fill({ id: 'kr-nis', role: 'relay' }),
  {},
  { kind: 'exact', value: 1 },
  { kind: 'range', low: 5, high: 1 },
  { kind: 'range', low: 1, high: 5, extra: 1 },
  { kind: 'guess', value: 1 },
];

/** Every variant of `obj` with one field (at any depth) replaced, removed or added. */
function* variants(obj: unknown): Generator<unknown> {
  if (obj === null || typeof obj !== 'object') return;
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i += 1)
      for (const v of variants(obj[i])) yield obj.map((x, j) => (j === i ? v : x));
    yield [...obj, obj[0]];
    return;
  }
  const o = obj as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    for (const r of REPLACEMENTS) yield { ...o, [k]: r };
    const { [k]: _removed, ...rest } = o;
    yield rest;
    for (const v of variants(o[k])) yield { ...o, [k]: v };
  }
  yield { ...o, unexpected: 1 };
}

function same(compiledSchema: z.ZodType, runtime: z.ZodType, input: unknown) {
  const a = compiledSchema.safeParse(input);
  const b = runtime.safeParse(input);
  expect(a.success, JSON.stringify(input)).toBe(b.success);
  if (a.success && b.success) expect(a.data).toStrictEqual(b.data);
  else expect(a.error?.issues).toEqual(b.error?.issues);
  return a.success;
}

describe('compiled event schemas (z.compile) answer as the runtime parser does', () => {
  const events = [...syntheticEvents({ count: 300, prefix: 'cmp', seed: 3 })].map(
    (m) => JSON.parse(m.payload) as { type: EventType; data: unknown },
  );
  const types = new Set(events.map((e) => e.type));

  it('the workload covers the common event types', () => {
    for (const t of ['ReportSubmitted', 'ClaimRecorded', 'ClaimCited', 'ClaimCorrected'] as const)
      expect(types.has(t)).toBe(true);
  });

  it('on valid envelopes and data, and on every one-field variant of them', () => {
    let accepted = 0;
    let refused = 0;
    // One event of each type with all its variants, and every event as it is.
    const firstOfType = new Map<EventType, (typeof events)[number]>();
    for (const e of events) if (!firstOfType.has(e.type)) firstOfType.set(e.type, e);
    for (const e of events) {
      expect(same(envelopeSchema, envelopeRuntimeSchema, e)).toBe(true);
      expect(same(eventSchemas[e.type].data, dataSchemas[e.type], e.data)).toBe(true);
    }
    const count = (ok: boolean) => (ok ? (accepted += 1) : (refused += 1));
    for (const [type, e] of firstOfType) {
      for (const v of variants(e)) count(same(envelopeSchema, envelopeRuntimeSchema, v));
      for (const v of variants(e.data)) count(same(eventSchemas[type].data, dataSchemas[type], v));
    }
    // Both answers occur, so the comparison covered acceptance and refusal.
    expect(accepted).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(500);
  });
});
