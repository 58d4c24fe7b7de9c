import { z } from 'zod';
import { instant } from '../events/dates.ts';
import { claimValue } from '../events/values.ts';

const booleanParam = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

/** Query parameters every read takes. */
export const readParams = {
  knownAt: instant.optional(),
  minSeq: z.coerce.number().int().min(0).optional(),
};

export const topicsQuery = z.strictObject({ ...readParams });
export const historyQuery = z.strictObject({
  ...readParams,
  source: z.union([z.string().max(64), z.array(z.string().max(64)).max(100)]).optional(),
  from: z.string().max(40).optional(),
  to: z.string().max(40).optional(),
  includeRetracted: booleanParam.optional(),
});
export const claimQuery = z.strictObject({ ...readParams });
export const eventsQuery = z.strictObject({
  ...readParams,
  fromSeq: z.coerce.number().int().min(1).default(1),
  toSeq: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  topic: z.string().max(64).optional(),
  verify: booleanParam.optional(),
});

export const CLAIM_STATUSES = ['active', 'corrected', 'retracted', 'superseded'] as const;
export type ClaimStatus = (typeof CLAIM_STATUSES)[number];

export const reportRef = z.object({ reportId: z.string(), url: z.string(), publisher: z.string(), publishedAt: z.string(), title: z.string().optional() });
export const sourceRef = z.object({
  id: z.string(),
  name: z.string().optional(),
  kind: z.string().optional(),
  country: z.string().optional(),
});

export const historyPoint = z.object({
  claimId: z.string(),
  statedAt: z.string(),
  validFrom: z.string(),
  validTo: z.string(),
  value: claimValue,
  low: z.number().nullable(),
  best: z.number().nullable(),
  high: z.number().nullable(),
  rule: z.string(),
  status: z.enum(CLAIM_STATUSES),
  recordedAt: z.string(),
  seq: z.number().int(),
  quote: z.string().optional(),
  via: z.array(z.object({ id: z.string(), role: z.string() })),
  reports: z.array(reportRef),
});

export const historyResponse = z.object({
  topic: z.string(),
  metric: z.string(),
  unit: z.string().nullable(),
  asOfSeq: z.number().int(),
  knownAt: z.string(),
  series: z.array(z.object({ source: sourceRef, points: z.array(historyPoint) })),
});
export type HistoryResponse = z.infer<typeof historyResponse>;

export const topicsResponse = z.object({
  asOfSeq: z.number().int(),
  knownAt: z.string(),
  topics: z.array(
    z.object({
      topic: z.string(),
      metrics: z.array(
        z.object({
          metric: z.string(),
          unit: z.string(),
          claims: z.number().int(),
          sources: z.number().int(),
          firstStatedAt: z.string(),
          lastStatedAt: z.string(),
        }),
      ),
    }),
  ),
});

export const revision = z.object({
  seq: z.number().int(),
  type: z.string(),
  recordedAt: z.string(),
  actor: z.string(),
  changes: z.record(z.string(), z.unknown()).optional(),
  reason: z.string().optional(),
  by: z.string().optional(),
  reportId: z.string().optional(),
});

export const claimResponse = z.object({
  asOfSeq: z.number().int(),
  knownAt: z.string(),
  claim: z.object({
    claimId: z.string(),
    topic: z.string(),
    metric: z.string(),
    unit: z.string(),
    source: sourceRef,
    via: z.array(z.object({ id: z.string(), role: z.string() })),
    statedAt: z.string(),
    validFrom: z.string(),
    validTo: z.string(),
    value: claimValue,
    low: z.number().nullable(),
    best: z.number().nullable(),
    high: z.number().nullable(),
    rule: z.string(),
    status: z.enum(CLAIM_STATUSES),
    quote: z.string().optional(),
    recordedAt: z.string(),
    seq: z.number().int(),
  }),
  revisions: z.array(revision),
  reports: z.array(reportRef.extend({ seq: z.number().int(), echo: z.boolean(), quote: z.string().optional() })),
});

export const eventsResponse = z.object({
  asOfSeq: z.number().int(),
  events: z.array(
    z.object({
      seq: z.number().int(),
      subject: z.string(),
      chainHash: z.string(),
      event: z.unknown(),
    }),
  ),
  nextFromSeq: z.number().int().nullable(),
  verify: z
    .object({ ok: z.boolean(), checked: z.number().int(), firstMismatchSeq: z.number().int().nullable(), detail: z.string() })
    .optional(),
});
