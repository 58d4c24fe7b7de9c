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
    z.strictObject({ kind: z.literal('range'), low: amount, high: amount }),
    z.strictObject({ kind: z.literal('at_least'), value: amount }),
    z.strictObject({ kind: z.literal('at_most'), value: amount }),
  ])
  .refine((v) => v.kind !== 'range' || v.low <= v.high, { path: ['low'], message: 'low must be <= high' });

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
          return { low: v.low, best: null, high: v.high };
        case 'at_least':
          return { low: v.value, best: null, high: null };
        case 'at_most':
          return { low: null, best: null, high: v.value };
      }
    },
  };
}

/** Every rule the projector knows, by id. */
export const normalisationRules: Readonly<Record<string, NormalisationRule>> = {
  'approx-5pct@1': approxRule('approx-5pct@1', 0.05),
  'approx-10pct@1': approxRule('approx-10pct@1', 0.1),
};

export function getNormalisationRule(id: string): NormalisationRule | undefined {
  return normalisationRules[id];
}
