import { z } from 'zod';

// Bidi embedding/override/isolate controls and marks: they can make a quote display differently
// from what it says, so no stored string may carry them.
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

/** Why a string is not acceptable, or undefined when it is. */
export function textProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain U+0000';
  if (!s.isWellFormed()) return 'must not contain unpaired surrogates';
  if (BIDI.test(s)) return 'must not contain bidirectional control characters';
  return undefined;
}

/** A string of 1..max characters that carries no NUL, unpaired surrogate or bidi control. */
export function text(max: number, min = 1) {
  return (
    z
      .string()
      .min(min)
      .max(max)
      // refine, not superRefine: zod's superRefine gives every value it checks a closure of its
      // own (a fifth of the projector's allocations came from this and the value refinement).
      .refine((s) => textProblem(s) === undefined, { error: (iss) => textProblem(iss.input as string) })
  );
}

export const TOPIC_RE = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const METRIC_RE = /^[a-z0-9]+(_[a-z0-9]+)*$/;

export const topicSlug = z.string().min(1).max(64).regex(TOPIC_RE, 'must be a slug like dprk-troops-in-russia');
export const sourceSlug = z.string().min(1).max(64).regex(TOPIC_RE, 'must be a slug like kr-nis');
export const metricSlug = z.string().min(1).max(64).regex(METRIC_RE, 'must be a slug like killed_or_wounded');
