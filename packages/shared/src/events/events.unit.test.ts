import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalTextOf } from './canonical-json.ts';
import { parseFuzzyDate } from './dates.ts';
import { claimValue, getNormalisationRule } from './values.ts';
import { decodeEvent, upcastEnvelope } from './upcast.ts';
import { textProblem } from './text.ts';
import { createSubjects } from './subjects.ts';
import { postReportRequest } from '../contract/reports.ts';

describe('dates keep their precision and normalise to an interval', () => {
  it.each([
    ['2025', 'year', '2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
    ['2025-01', 'month', '2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z'],
    ['2024-12', 'month', '2024-12-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
    ['2024-02-29', 'day', '2024-02-29T00:00:00.000Z', '2024-03-01T00:00:00.000Z'],
    ['2025-02-21T10:00:00+02:00', 'instant', '2025-02-21T08:00:00.000Z', '2025-02-21T08:00:00.000Z'],
    // Years below 100 are themselves, not 19xx.
    ['0050-06', 'month', '0050-06-01T00:00:00.000Z', '0050-07-01T00:00:00.000Z'],
    ['0001', 'year', '0001-01-01T00:00:00.000Z', '0002-01-01T00:00:00.000Z'],
    ['0099-12-31', 'day', '0099-12-31T00:00:00.000Z', '0100-01-01T00:00:00.000Z'],
    ['0001-01-01T00:00:00Z', 'instant', '0001-01-01T00:00:00.000Z', '0001-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59Z', 'instant', '9999-12-31T23:59:59.000Z', '9999-12-31T23:59:59.000Z'],
  ])('%s', (text, precision, from, to) => {
    expect(parseFuzzyDate(text)).toEqual({ text, precision, from, to });
  });
  it.each([
    '2025-13',
    '2025-02-30',
    // Outside years 0001-9999 once the offset is applied, or ending past 9999.
    '0000-01-01T00:00:00Z',
    '0001-01-01T00:00:00+01:00',
    '9999-12-31T23:59:59-23:59',
    '0000',
    '9999',
    '9999-12',
    '9999-12-31',
    '2023-02-29',
    '25',
    '2025-1',
    '2025-02-21T10:00:00',
    'yesterday',
    '2025-02-21T25:00:00Z',
    '',
  ])('rejects %j', (s) => {
    expect(parseFuzzyDate(s)).toBeUndefined();
  });
  it('gives the same answer for a date parsed again, past the size of its caches', () => {
    // 600 distinct instants (more than the instants kept), each parsed twice, and bad ones too.
    for (let round = 0; round < 2; round += 1)
      for (let i = 0; i < 600; i += 1) {
        const text = `2025-02-21T10:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}+02:00`;
        const at = new Date(Date.UTC(2025, 1, 21, 8, Math.floor(i / 60), i % 60)).toISOString();
        expect(parseFuzzyDate(text)).toEqual({ text, precision: 'instant', from: at, to: at });
        expect(parseFuzzyDate(`2025-02-30T10:00:${String(i % 60).padStart(2, '0')}Z`)).toBeUndefined();
      }
  });
});

describe('values and the approx-5pct@1 rule', () => {
  const rule = getNormalisationRule('approx-5pct@1')!;
  it.each([
    [
      { kind: 'exact', value: 2700 },
      { low: 2700, best: 2700, high: 2700 },
    ],
    [
      { kind: 'approx', value: 300 },
      { low: 285, best: 300, high: 315 },
    ],
    [
      { kind: 'approx', value: 4000 },
      { low: 3800, best: 4000, high: 4200 },
    ],
    [
      { kind: 'range', low: 10000, high: 12000 },
      { low: 10000, best: null, high: 12000 },
    ],
    [
      { kind: 'at_least', value: 600 },
      { low: 600, best: null, high: null },
    ],
    [
      { kind: 'at_most', value: 30 },
      { low: null, best: null, high: 30 },
    ],
  ] as const)('%j', (value, bounds) => {
    expect(rule.normalise(claimValue.parse(value))).toEqual(bounds);
  });
  it('a second rule widens approx values', () => {
    expect(getNormalisationRule('approx-10pct@1')!.normalise({ kind: 'approx', value: 300 })).toEqual({
      low: 270,
      best: 300,
      high: 330,
    });
  });
  it.each([
    [{ kind: 'range', low: 5, high: 4 }, 'low must be <= high'],
    [{ kind: 'exact', value: -1 }, 'non-negative'],
    [{ kind: 'exact', value: 1e16 }, '1e15'],
    [{ kind: 'exact', value: 0.1234567 }, '6 decimal'],
    [{ kind: 'exact', value: 1, extra: true }, 'nrecognized'],
    [{ kind: 'about', value: 1 }, ''],
  ])('rejects %j', (value, message) => {
    const r = claimValue.safeParse(value);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain(message);
  });
  it('accepts six decimals and the bounds 0 and 1e15', () => {
    for (const v of [0, 1e15, 0.123456, 2.5])
      expect(claimValue.safeParse({ kind: 'exact', value: v }).success).toBe(true);
  });
});

describe('the approx-digits@1 rule and ranges with a best figure', () => {
  const rule = getNormalisationRule('approx-digits@1')!;
  // The contract's examples, verbatim.
  it.each([
    [300, 285, 315],
    [4000, 3800, 4200],
    [145_850, 145_840, 145_860],
    [1_000_340, 1_000_330, 1_000_350],
  ])('"about %d" → %d / best / %d', (value, low, high) => {
    expect(rule.normalise({ kind: 'approx', value })).toEqual({ low, best: value, high });
  });
  it('keeps whole bounds for whole figures, rounded outward, and decimal bounds for decimals', () => {
    // 5 % of 30 is 1.5: 28.5 and 31.5, rounded outward.
    expect(rule.normalise({ kind: 'approx', value: 30 })).toEqual({ low: 28, best: 30, high: 32 });
    // 2.5: the last digit's place is 0.1, under 5 % (0.125).
    expect(rule.normalise({ kind: 'approx', value: 2.5 })).toEqual({ low: 2.4, best: 2.5, high: 2.6 });
    expect(rule.normalise({ kind: 'approx', value: 0 })).toEqual({ low: 0, best: 0, high: 0 });
  });
  it('treats every other kind as approx-5pct@1 does', () => {
    const old = getNormalisationRule('approx-5pct@1')!;
    for (const v of [
      { kind: 'exact', value: 2700 },
      { kind: 'range', low: 10000, high: 12000 },
      { kind: 'at_least', value: 600 },
      { kind: 'at_most', value: 30 },
    ] as const)
      expect(rule.normalise(v)).toEqual(old.normalise(v));
  });
  it('takes a best figure within a range, low ≤ best ≤ high, else names /best', () => {
    const v = claimValue.parse({ kind: 'range', low: 55298, best: 64260, high: 78525 });
    expect(rule.normalise(v)).toEqual({ low: 55298, best: 64260, high: 78525 });
    for (const best of [55297, 78526]) {
      const r = claimValue.safeParse({ kind: 'range', low: 55298, best, high: 78525 });
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(['best']);
    }
  });
});

describe('strings', () => {
  it('refuses NUL, unpaired surrogates and bidi controls, and accepts ordinary text', () => {
    expect(textProblem('a\u0000')).toMatch(/U\+0000/);
    expect(textProblem('a\ud800b')).toMatch(/surrogate/);
    expect(textProblem('\u202Eabc')).toMatch(/bidirectional/);
    expect(textProblem('\u2067x')).toMatch(/bidirectional/);
    expect(textProblem('Zelensky: «около 4 000» 😀 한국')).toBeUndefined();
  });
});

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });
  it('gives equal text for equal values written in different orders', () => {
    expect(canonicalJson({ x: 1, y: [1, 2] })).toBe(canonicalJson({ y: [1, 2], x: 1 }));
  });
  it('writes what the key-by-key definition writes, for values in and out of canonical order', () => {
    // The definition, key by key at every depth: canonicalJson must agree with it everywhere,
    // whether it takes its JSON.stringify path for a value or a part of one or not.
    const reference = (v: unknown): string => {
      if (v === null) return 'null';
      if (typeof v !== 'object') {
        if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError('non-finite number');
        return JSON.stringify(v);
      }
      if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : reference(x))).join(',')}]`;
      const o = v as Record<string, unknown>;
      const parts = Object.keys(o)
        .sort()
        .filter((k) => o[k] !== undefined)
        .map((k) => `${JSON.stringify(k)}:${reference(o[k])}`);
      return `{${parts.join(',')}}`;
    };
    let seed = 42;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const keys = ['a', 'b', 'z', 'kind', 'value', 'low', 'high', '10', '2', 'é', 'Z', '\u00e9', 'a\nb'];
    const gen = (depth: number): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.3) {
        const leaves = [0, -0, 1.5, 1e21, -7, 'x', 'é\t"\\', '😀', true, false, null, undefined, 123456789012];
        return leaves[Math.floor(rand() * leaves.length)];
      }
      if (r < 0.5) return Array.from({ length: Math.floor(rand() * 4) }, () => gen(depth + 1));
      const o: Record<string, unknown> = rand() < 0.1 ? (Object.create(null) as Record<string, unknown>) : {};
      const n = Math.floor(rand() * 5);
      const chosen = Array.from({ length: n }, () => keys[Math.floor(rand() * keys.length)]!);
      // Half of the objects get their keys in sorted order, as ingest builds its events.
      if (rand() < 0.5) chosen.sort();
      for (const k of chosen) o[k] = gen(depth + 1);
      return o;
    };
    let sortedWholes = 0;
    for (let i = 0; i < 3000; i += 1) {
      const v = gen(0);
      if (v === undefined) continue;
      const text = canonicalJson(v);
      expect(text).toBe(reference(v));
      if (text === JSON.stringify(v)) sortedWholes += 1;
    }
    // Both paths were taken: many values stringify canonically as they are, and many do not.
    expect(sortedWholes).toBeGreaterThan(300);
    expect(sortedWholes).toBeLessThan(2700);
    expect(canonicalJson(new Date(0))).toBe(reference(new Date(0)));
    expect(() => canonicalJson({ a: [1, Number.NaN] })).toThrow(/non-finite/);
  });
  it('takes text that already is canonical as it is, and rebuilds any other text', () => {
    const texts = [
      '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}', // canonical
      '{"b":1,"a":2}', // keys out of order
      '{"a":{"z":1,"y":2}}', // out of order one level down
      '[{"b":1,"a":[{"d":1,"c":2}]}]', // inside arrays
      '{"a": 1}', // white space
      '{"a":1.50,"b":1e2,"c":-0}', // numbers not in their shortest form
      '{"a":"\\u00e9","b":"\u00e9"}', // an escape JSON.stringify does not write
      '{"10":1,"2":2}', // integer-like keys, which objects order numerically
      '{"a":1,"a":2}', // a duplicated key
      '"x"',
    ];
    for (const text of texts) {
      const parsed: unknown = JSON.parse(text);
      expect(canonicalTextOf(text, parsed)).toBe(canonicalJson(parsed));
    }
    const canonical = '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}';
    expect(canonicalTextOf(canonical, JSON.parse(canonical))).toBe(canonical);
  });
});

describe('the request schema', () => {
  const base = {
    report: { url: 'https://example.org/x', publisher: 'P', publishedAt: '2025-02-20' },
    claims: [{ topic: 't', metric: 'killed', value: { kind: 'exact', value: 1 }, source: { id: 's' } }],
  };
  it('defaults unit to persons', () => {
    expect(postReportRequest.parse(base).claims[0]!.unit).toBe('persons');
  });
  it('accepts URNs and refuses other schemes', () => {
    expect(
      postReportRequest.safeParse({ ...base, report: { ...base.report, url: 'urn:claimtrail:seed:x' } }).success,
    ).toBe(true);
    expect(
      postReportRequest.safeParse({ ...base, report: { ...base.report, url: 'ftp://example.org/x' } }).success,
    ).toBe(false);
    expect(
      postReportRequest.safeParse({ ...base, report: { ...base.report, url: 'javascript:alert(1)' } }).success,
    ).toBe(false);
  });
  it('limits via to 8 hops with known roles', () => {
    const claim = { ...base.claims[0], via: Array.from({ length: 9 }, () => ({ id: 'x', role: 'relay' })) };
    expect(postReportRequest.safeParse({ ...base, claims: [claim] }).success).toBe(false);
    const bad = { ...base.claims[0], via: [{ id: 'x', role: 'leaker' }] };
    expect(postReportRequest.safeParse({ ...base, claims: [bad] }).success).toBe(false);
  });
  it('accepts the seed request body as it is', async () => {
    const { readFile } = await import('node:fs/promises');
    const body = JSON.parse(
      await readFile(new URL('../../../../demo/nk-troops-russia.report.json', import.meta.url), 'utf8'),
    );
    expect(postReportRequest.safeParse(body).success).toBe(true);
  });
});

describe('decoding and upcasting', () => {
  const env = {
    eventId: '0193a5b0-0000-7000-8000-000000000000',
    type: 'MetricDefined',
    version: 1,
    recordedAt: '2025-01-01T00:00:00.000Z',
    actor: 'a',
    requestId: 'r',
    data: { metric: 'killed', label: 'Killed', unit: 'persons', aggregation: 'cumulative' },
  };
  it('decodes a current event', () => {
    const r = decodeEvent(env);
    expect(r.ok).toBe(true);
  });
  it('upcasts an older version through the registered steps', () => {
    const old = {
      ...env,
      version: 1,
      type: 'MetricDefined',
      data: { metric: 'killed', name: 'Killed', aggregation: 'cumulative' },
    };
    // A hypothetical registry in which MetricDefined is at v2 would be needed to upcast; with the
    // live registry (v1 current), v0 has no step and fails as a value, never a throw.
    const r = upcastEnvelope({ ...old, version: 0 });
    expect(r).toEqual({ ok: false, reason: 'no upcaster for MetricDefined v0' });
    const steps = {
      MetricDefined: {
        0: (d: unknown) => {
          const { name, ...rest } = d as { name: string };
          return { ...rest, label: name, unit: 'persons' };
        },
      },
    };
    const up = upcastEnvelope({ ...old, version: 0 }, steps);
    expect(up.ok).toBe(true);
    if (up.ok) expect(up.event.data).toMatchObject({ label: 'Killed', unit: 'persons' });
  });
  it('fails as a value for unknown types, newer versions and bad data', () => {
    expect(decodeEvent({ ...env, type: 'Nope' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('unknown event type'),
    });
    expect(decodeEvent({ ...env, version: 9 })).toMatchObject({ ok: false, reason: expect.stringContaining('newer') });
    expect(decodeEvent({ ...env, data: { metric: 'Bad Metric' } })).toMatchObject({ ok: false });
    expect(decodeEvent({ ...env, eventId: 'x' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('envelope'),
    });
  });
});

describe('subjects', () => {
  it('lays out one subject per claim and reads the claim id back', () => {
    const s = createSubjects('ct');
    expect(s.claim('dprk-troops-in-russia', 'clm_1')).toBe('ct.claim.dprk-troops-in-russia.clm_1');
    expect(s.claimIdOf('ct.claim.t.clm_1')).toBe('clm_1');
    expect(s.claimIdOf('ct.report.rpt_1')).toBeUndefined();
  });
});
