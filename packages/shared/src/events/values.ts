import { z } from 'zod';

const amount = z
  .number()
  .finite()
  .min(0, 'must be non-negative')
  .max(1e15, 'must be at most 1e15')
  // Integers first: toFixed formats a string, and most figures are whole numbers.
  .refine((n) => Number.isInteger(n) || Number(n.toFixed(6)) === n, { message: 'must have at most 6 decimal places' });

/** A figure as stated: its kind says how the source qualified it. */
export const claimValue = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('exact'), value: amount }),
    z.strictObject({ kind: z.literal('approx'), value: amount }),
    // `best`: the source's central figure within its range ("64,260, 95 % interval 55,298 to 78,525").
    z.strictObject({ kind: z.literal('range'), low: amount, best: amount.optional(), high: amount }),
    z.strictObject({ kind: z.literal('at_least'), value: amount }),
    z.strictObject({ kind: z.literal('at_most'), value: amount }),
  ])
  .refine((v) => v.kind !== 'range' || v.low <= v.high, { path: ['low'], message: 'low must be <= high' })
  .refine((v) => v.kind !== 'range' || v.best === undefined || (v.low <= v.best && v.best <= v.high), {
    path: ['best'],
    message: 'best must lie within low..high',
  });

export type ClaimValue = z.infer<typeof claimValue>;

/** Normalised bounds of a value. */
export interface Bounds {
  low: number | null;
  best: number | null;
  high: number | null;
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** A named, versioned normalisation rule. Changing the rule and replaying re-derives every bound. */
export interface NormalisationRule {
  id: string;
  normalise(value: ClaimValue): Bounds;
}

function approxRule(id: string, fraction: number): NormalisationRule {
  return {
    id,
    normalise(v) {
      switch (v.kind) {
        case 'exact':
          return { low: v.value, best: v.value, high: v.value };
        case 'approx':
          return { low: round6(v.value * (1 - fraction)), best: v.value, high: round6(v.value * (1 + fraction)) };
        case 'range':
          return { low: v.low, best: v.best ?? null, high: v.high };
        case 'at_least':
          return { low: v.value, best: null, high: null };
        case 'at_most':
          return { low: null, best: null, high: v.value };
      }
    },
  };
}

/**
 * The place value of a figure's last non-zero digit (300 → 100, 145,850 → 10, 2.5 → 0.1); 0 for 0.
 * Figures have at most six decimal places, so they are scaled to whole millionths first.
 */
export function lastDigitPlace(value: number): number {
  let n = Math.round(value * 1e6);
  if (n === 0) return 0;
  let place = 1;
  while (n % 10 === 0) {
    n /= 10;
    place *= 10;
  }
  return place / 1e6;
}

/**
 * "About N" is as precise as the figure was stated: the half-width is 5 % of the value, but never
 * more than the place value of its last non-zero digit ("about 145,850" is ±10, not ±7,292); a
 * whole number keeps whole bounds, rounded outward.
 */
function approxDigitsRule(id: string): NormalisationRule {
  const base = approxRule(id, 0.05);
  return {
    id,
    normalise(v) {
      if (v.kind !== 'approx') return base.normalise(v);
      const half = Math.min(v.value * 0.05, lastDigitPlace(v.value));
      let low = round6(Math.max(0, v.value - half));
      let high = round6(v.value + half);
      if (Number.isInteger(v.value)) {
        low = Math.floor(low);
        high = Math.ceil(high);
      }
      return { low, best: v.value, high };
    },
  };
}

/** The rule new read models are folded with unless one is named. */
export const DEFAULT_RULE = 'approx-digits@1';

/** Every rule the projector knows, by id. */
export const normalisationRules: Readonly<Record<string, NormalisationRule>> = {
  'approx-digits@1': approxDigitsRule('approx-digits@1'),
  'approx-5pct@1': approxRule('approx-5pct@1', 0.05),
  'approx-10pct@1': approxRule('approx-10pct@1', 0.1),
};

export function getNormalisationRule(id: string): NormalisationRule | undefined {
  return normalisationRules[id];
}
