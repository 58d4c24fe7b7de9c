import { z } from 'zod';
import { fuzzyDate } from '../events/dates.ts';
import {
  AGGREGATIONS,
  claimChanges,
  CONFIDENCE_LEVELS,
  countryCode,
  REPORT_KINDS,
  RETRACTED_BY,
  SOURCE_KINDS,
  unit,
  viaHop,
} from '../events/schemas.ts';
import { metricSlug, sourceSlug, text, topicSlug } from '../events/text.ts';
import { claimValue } from '../events/values.ts';

const reportUrl = text(2048).refine(
  (s) => {
    if (/^urn:[a-z0-9][a-z0-9-]{0,31}:\S+$/i.test(s)) return true;
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
    } catch {
      return false;
    }
  },
  { message: 'must be an absolute http(s) URL or a URN' },
);

const bcp47 = text(35).regex(
  /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/,
  'must be a BCP 47 language tag such as en or pt-BR',
);

export const reportBody = z.strictObject({
  url: reportUrl,
  publisher: text(200),
  title: text(500).optional(),
  publishedAt: fuzzyDate,
  language: bcp47.optional(),
  retrievedAt: fuzzyDate.optional(),
  kind: z.enum(REPORT_KINDS).optional(),
});

export const claimSource = z.strictObject({
  id: sourceSlug,
  name: text(200).optional(),
  kind: z.enum(SOURCE_KINDS).optional(),
  country: countryCode.optional(),
});

export const claimBody = z.strictObject({
  topic: topicSlug,
  metric: metricSlug,
  value: claimValue,
  unit: unit.default('persons'),
  source: claimSource,
  via: z.array(viaHop).max(8).optional(),
  statedAt: fuzzyDate.optional(),
  validFrom: fuzzyDate.optional(),
  validTo: fuzzyDate.optional(),
  quote: text(2000).optional(),
  /** The source's own stated confidence. */
  confidence: z.enum(CONFIDENCE_LEVELS).optional(),
  /** The source's own probability word, verbatim ("likely", "realistic possibility"). */
  likelihood: text(64).optional(),
  /** The analyst's note on scope or method ("excludes DPR/LPR militia"). */
  note: text(2000).optional(),
});

/** Body of `POST /v1/reports`. */
export const postReportRequest = z.strictObject({
  report: reportBody,
  claims: z.array(claimBody).min(1).max(500),
});
export type PostReportRequest = z.infer<typeof postReportRequest>;
export type ClaimBody = z.infer<typeof claimBody>;

export const postReportResponse = z.object({
  reportId: z.string(),
  duplicate: z.boolean(),
  lastSeq: z.number().int(),
  claims: z.array(
    z.object({
      claimId: z.string(),
      echo: z.boolean(),
      seq: z.number().int(),
      /**
       * A claim that is not an echo: claims of the same topic, metric and source whose normalised
       * intervals overlap its own and whose statedAt lies within 7 days of its own. A hint only.
       */
      similar: z.array(z.object({ claimId: z.string(), statedAt: z.string(), value: claimValue })).optional(),
    }),
  ),
  /**
   * What was accepted but may be a mistake: a claim that defined a new metric, naming defined ones
   * with similar names; or that the hints of similar claims could not be looked up.
   */
  warnings: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type PostReportResponse = z.infer<typeof postReportResponse>;

/** Body of `POST /v1/claims/{claimId}/corrections`. */
export const postCorrectionRequest = z.strictObject({ changes: claimChanges, reason: text(2000) });
/** Body of `POST /v1/claims/{claimId}/retractions`. */
export const postRetractionRequest = z.strictObject({ reason: text(2000), by: z.enum(RETRACTED_BY) });
export const claimSeqResponse = z.object({
  claimId: z.string(),
  seq: z.number().int(),
  duplicate: z.boolean().optional(),
});

/** Body of `POST /v1/metrics`. */
export const postMetricRequest = z.strictObject({
  metric: metricSlug,
  label: text(200),
  unit: unit.default('persons'),
  aggregation: z.enum(AGGREGATIONS),
  composedOf: z.array(metricSlug).min(2).max(32).optional(),
});
export const seqResponse = z.object({ seq: z.number().int(), duplicate: z.boolean().optional() });

/** Body of `POST /v1/topics`: a topic's name and description, for people (the slug is its id). */
export const postTopicRequest = z.strictObject({
  topic: topicSlug,
  label: text(200),
  description: text(2000).optional(),
});
export type PostTopicRequest = z.infer<typeof postTopicRequest>;

export const problemDetails = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
