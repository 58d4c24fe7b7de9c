import { z } from 'zod';
import { fuzzyDate, instant } from '../events/dates.ts';
import { claimValue } from '../events/values.ts';
import { sourceSlug, topicSlug } from '../events/text.ts';
import { AGGREGATIONS, CONFIDENCE_LEVELS } from '../events/schemas.ts';
import { problemDetails } from './reports.ts';

const booleanParam = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Query parameters every read takes. */
export const readParams = {
  knownAt: instant.optional(),
  /** The answer as the public record stood at this date: only reports published by then count. */
  publishedBy: fuzzyDate.optional(),
  minSeq: z.coerce.number().int().min(0).optional(),
};

/**
 * Reads of many claims take only those whose statedAt meets [from, to] (any precision, each
 * including the whole period it names).
 */
export const statedParams = {
  from: z.string().max(40).optional(),
  to: z.string().max(40).optional(),
};

/** Where the next page starts: the `nextCursor` of the page before, as given (opaque). */
const cursorParam = z.string().min(1).max(512).optional();

/** A page of topics: 100 by default, at most 1000. */
export const TOPICS_PAGE = { default: 100, max: 1000 } as const;
/** A page of history points (across all series): 10,000 by default, at most 50,000. */
export const HISTORY_PAGE = { default: 10_000, max: 50_000 } as const;
/** A page of metric definitions: 1000 by default and at most. */
export const METRICS_PAGE = { default: 1000, max: 1000 } as const;

export const topicsQuery = z.strictObject({
  ...readParams,
  ...statedParams,
  limit: z.coerce.number().int().min(1).max(TOPICS_PAGE.max).default(TOPICS_PAGE.default),
  cursor: cursorParam,
});
export const historyQuery = z.strictObject({
  ...readParams,
  source: z.union([sourceSlug, z.array(sourceSlug).max(100)]).optional(),
  ...statedParams,
  includeRetracted: booleanParam.optional(),
  limit: z.coerce.number().int().min(1).max(HISTORY_PAGE.max).default(HISTORY_PAGE.default),
  cursor: cursorParam,
});
export const claimQuery = z.strictObject({ ...readParams });
export const metricsQuery = z.strictObject({
  ...readParams,
  limit: z.coerce.number().int().min(1).max(METRICS_PAGE.max).default(METRICS_PAGE.default),
  cursor: cursorParam,
});
export const metricQuery = z.strictObject({ ...readParams });
export const eventsQuery = z.strictObject({
  ...readParams,
  fromSeq: z.coerce.number().int().min(1).default(1),
  toSeq: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  topic: topicSlug.optional(),
  verify: booleanParam.optional(),
});

export const CLAIM_STATUSES = ['active', 'corrected', 'retracted', 'superseded'] as const;
export type ClaimStatus = (typeof CLAIM_STATUSES)[number];

export const reportRef = z.object({
  reportId: z.string(),
  url: z.string(),
  publisher: z.string(),
  publishedAt: z.string(),
  title: z.string().optional(),
  /** news, statement, briefing, interview, social_post, leaked_document, study, dataset or other, when given. */
  kind: z.string().optional(),
});
export const sourceRef = z.object({
  id: z.string(),
  name: z.string().optional(),
  kind: z.string().optional(),
  country: z.string().optional(),
});

/** A figure as stated and as normalised, with its times: common to points and claims. */
const claimFigure = {
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
};

/** A hop of the attribution chain: its name as the hop gave it, else as its source is registered. */
export const viaRef = z.object({ id: z.string(), role: z.string(), name: z.string().optional() });

/** What a point and a claim say beside the figure. */
const claimSaying = {
  /** The claim that stands over this one (the same source's newer or more precise figure), when superseded. */
  supersededBy: z.string().optional(),
  /** Present (true) when our transcription was corrected at any time before the view, whatever the status. */
  corrected: z.literal(true).optional(),
  quote: z.string().optional(),
  /** The source's own stated confidence. */
  confidence: z.enum(CONFIDENCE_LEVELS).optional(),
  /** The source's own probability word, verbatim. */
  likelihood: z.string().optional(),
  /** The analyst's note on scope or method. */
  note: z.string().optional(),
  via: z.array(viaRef),
};

export const historyPoint = z.object({
  ...claimFigure,
  ...claimSaying,
  reports: z.array(reportRef),
});

export const historyResponse = z.object({
  topic: z.string(),
  metric: z.string(),
  unit: z.string().nullable(),
  asOfSeq: z.number().int(),
  knownAt: z.string(),
  /** The publishedBy the answer was read at, as given. */
  publishedBy: z.string().optional(),
  series: z.array(z.object({ source: sourceRef, points: z.array(historyPoint) })),
  /**
   * The `cursor` of the next page, or null on the last one. A page holds up to `limit` points in
   * (statedFrom, seq) order; a source's points on several pages form one series when joined.
   */
  nextCursor: z.string().nullable().optional(),
});
export type HistoryResponse = z.infer<typeof historyResponse>;

export const topicsResponse = z.object({
  asOfSeq: z.number().int(),
  knownAt: z.string(),
  /** The publishedBy the answer was read at, as given. */
  publishedBy: z.string().optional(),
  topics: z.array(
    z.object({
      topic: z.string(),
      /** The topic's name for people, as its newest TopicDefined known at the instant gave it. */
      label: z.string().optional(),
      description: z.string().optional(),
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
  /** The `cursor` of the next page of topics, or null on the last one. */
  nextCursor: z.string().nullable().optional(),
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
  /** A correction's: what it replaced, field by field in the names of `changes` (null where there was nothing). */
  before: z.record(z.string(), z.unknown()).optional(),
});

export const claimResponse = z.object({
  asOfSeq: z.number().int(),
  knownAt: z.string(),
  /** The publishedBy the answer was read at, as given. */
  publishedBy: z.string().optional(),
  claim: z.object({
    ...claimFigure,
    ...claimSaying,
    topic: z.string(),
    metric: z.string(),
    unit: z.string(),
    source: sourceRef,
  }),
  revisions: z.array(revision),
  reports: z.array(reportRef.extend({ seq: z.number().int(), echo: z.boolean(), quote: z.string().optional() })),
});

/** A metric's definition in force. */
export const metricInForce = z.object({
  metric: z.string(),
  label: z.string(),
  unit: z.string(),
  aggregation: z.enum(AGGREGATIONS),
  /** A composite's parts. */
  composedOf: z.array(z.string()).optional(),
  /** The seq of the MetricDefined in force: the ETag of GET /v1/metrics/{metric}, and what If-Match names. */
  seq: z.number().int(),
});

export const metricsResponse = z.object({
  asOfSeq: z.number().int(),
  knownAt: z.string(),
  /** The publishedBy the answer was read at, as given. */
  publishedBy: z.string().optional(),
  metrics: z.array(metricInForce),
  /** The `cursor` of the next page of definitions, or null on the last one. */
  nextCursor: z.string().nullable(),
});

export const metricResponse = z.object({
  asOfSeq: z.number().int(),
  knownAt: z.string(),
  /** The publishedBy the answer was read at, as given. */
  publishedBy: z.string().optional(),
  ...metricInForce.shape,
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
    .object({
      ok: z.boolean(),
      checked: z.number().int(),
      firstMismatchSeq: z.number().int().nullable(),
      detail: z.string(),
    })
    .optional(),
});

// ---- GET /v1/topics/{topic}/summary ----

export const summaryQuery = z.strictObject({ ...readParams, ...statedParams });

/** A closed interval of normalised bounds; `high: null` is unbounded above (a missing low counts as 0). */
export const interval = z.object({ low: z.number(), high: z.number().nullable() });

/**
 * A check's verdict: the sum of a source's parts overlaps the composite claim (`consistent`), lies
 * apart from it (`gap`), or one part alone lies above it (`part_exceeds_total`). Claims further
 * apart in time than the tolerance are no check: the summary counts them (`unaligned`).
 */
export const CHECK_STATUSES = ['consistent', 'gap', 'part_exceeds_total'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

const { rule: _rule, ...figureWithoutRule } = claimFigure;

export const summaryLatest = z.object({
  source: sourceRef,
  ...figureWithoutRule,
  quote: z.string().optional(),
  /** The same source's figure before this one (the one this superseded), if any. */
  previous: z
    .object({
      claimId: z.string(),
      statedAt: z.string(),
      value: claimValue,
      low: z.number().nullable(),
      best: z.number().nullable(),
      high: z.number().nullable(),
    })
    .optional(),
  /** Centre minus the previous centre (centre = best, else the middle of a bounded range); null when either has none. */
  change: z.number().nullable().optional(),
});

/** A claim as the summary names it: enough to tell who said what, for when, and to look it up. */
export const claimRef = z.object({
  claimId: claimFigure.claimId,
  metric: z.string(),
  source: sourceRef,
  statedAt: claimFigure.statedAt,
  validFrom: claimFigure.validFrom,
  validTo: claimFigure.validTo,
  value: claimFigure.value,
  low: claimFigure.low,
  best: claimFigure.best,
  high: claimFigure.high,
});
export type ClaimRef = z.infer<typeof claimRef>;

/** Two sources' aligned claims of one metric whose intervals do not overlap. */
export const conflict = z.object({
  /** The claim whose interval lies below. */
  a: claimRef,
  /** The claim whose interval lies above. */
  b: claimRef,
  /** Distance between the two intervals: b.low − a.high. */
  gap: z.number(),
  /** How far apart their valid times lie, in days (the ends; both ends for incremental metrics). */
  days: z.number(),
});
export type Conflict = z.infer<typeof conflict>;

export const compositeCheck = z.object({
  composite: z.string(),
  components: z.array(z.string()),
  /** The source whose component claims are summed. */
  componentSource: sourceRef,
  /** The source of the composite claim compared with the sum. */
  compositeSource: sourceRef,
  sameSource: z.boolean(),
  /** True when every part is summed; false for a part alone above the total (`part_exceeds_total`). */
  complete: z.boolean(),
  /** True when the parts summed were stated in one report. */
  sameReport: z.boolean(),
  componentClaims: z.array(
    z.object({
      metric: z.string(),
      claimId: z.string(),
      statedAt: z.string(),
      /** The report that stated the part. */
      reportId: z.string().optional(),
      low: z.number().nullable(),
      high: z.number().nullable(),
      validFrom: z.string(),
      validTo: z.string(),
    }),
  ),
  compositeClaim: z.object({
    claimId: z.string(),
    statedAt: z.string(),
    low: z.number().nullable(),
    high: z.number().nullable(),
    validFrom: z.string(),
    validTo: z.string(),
  }),
  /** Interval sum of the components: [Σ low, Σ high]. */
  sum: interval,
  /** The composite claim's interval. */
  against: interval,
  status: z.enum(CHECK_STATUSES),
  /** Distance between the two intervals when they do not overlap (else null), whatever the status. */
  gap: z.number().nullable(),
  /** Where the components' sum lies relative to the composite claim when there is a gap. */
  direction: z.enum(['below', 'above']).nullable(),
  /** The parts whose low alone exceeds the composite claim's high (claim ids). */
  exceeding: z.array(z.string()),
  /** Largest difference, in days, between the valid times of the claims compared. */
  validSpreadDays: z.number(),
  toleranceDays: z.number(),
  detail: z.string(),
});
export type CompositeCheck = z.infer<typeof compositeCheck>;

export const summaryMetric = z.object({
  metric: z.string(),
  label: z.string().nullable(),
  unit: z.string().nullable(),
  aggregation: z.string().nullable(),
  composedOf: z.array(z.string()).nullable(),
  latest: z.array(summaryLatest),
  /** Hull of the latest claims across sources; null when no source has an active claim. */
  envelope: z.object({ minLow: z.number(), maxHigh: z.number().nullable(), sources: z.number().int() }).nullable(),
  checks: z.array(compositeCheck),
  /** Checks past the answer's limit, left off `checks` (the newest are kept). */
  checksLeftOff: z.number().int(),
  /** Composite claims (the oldest) not paired at all: the pairing's budget ran out before them. */
  compositesNotPaired: z.number().int(),
  /** Pairs of a composite claim and a source stating every part, none aligned with it in time: no check. */
  unaligned: z.number().int(),
  /**
   * Per pair of sources (the one whose parts are summed, the one whose total they are checked
   * against) with a check or an unaligned pair: how many checks, how many pairs did not align.
   */
  sourcePairs: z.array(
    z.object({
      componentSource: sourceRef,
      compositeSource: sourceRef,
      checks: z.number().int(),
      unaligned: z.number().int(),
    }),
  ),
  /** Pairs of sources past the answer's limit, left off `sourcePairs` (they come in id order). */
  sourcePairsLeftOff: z.number().int(),
  /** Checks that could not be made, and why (e.g. an incremental part of a cumulative composite). */
  skipped: z.array(z.object({ reason: z.string() })),
  /** Pairs of sources whose aligned claims' intervals do not overlap. */
  conflicts: z.array(conflict),
  /** Conflicts past the answer's limit, left off `conflicts` (the newest are kept). */
  conflictsLeftOff: z.number().int(),
  /** Claims (the oldest) not paired with other sources' at all: the pairing's budget ran out before them. */
  claimsNotPaired: z.number().int(),
});
export type SummaryMetric = z.infer<typeof summaryMetric>;

export const summaryResponse = z.object({
  topic: z.string(),
  asOfSeq: z.number().int(),
  knownAt: z.string(),
  /** The publishedBy the answer was read at, as given. */
  publishedBy: z.string().optional(),
  alignToleranceDays: z.number(),
  metrics: z.array(summaryMetric),
});
export type SummaryResponse = z.infer<typeof summaryResponse>;

// ---- GET /v1/topics/{topic}/timeline (the page's "known on" slider) ----

export const timelineQuery = z.strictObject({ minSeq: readParams.minSeq });
export const timelineResponse = z.object({
  topic: z.string(),
  asOfSeq: z.number().int(),
  /** Each distinct transaction time at which something about the topic became known, oldest first. */
  instants: z.array(
    z.object({ knownAt: z.string(), seq: z.number().int(), events: z.number().int(), types: z.array(z.string()) }),
  ),
  /**
   * Each distinct publication date of the reports that cite the topic's claims, in the order of
   * the end of its interval (`to`, ISO): the steps of the page's "published by" slider.
   */
  published: z.array(z.object({ publishedAt: z.string(), to: z.string(), reports: z.number().int() })),
});
export type TimelineResponse = z.infer<typeof timelineResponse>;

/** The error answers every read endpoint documents (problem+json); a route adds its own 404. */
export const readErrorResponses = {
  400: problemDetails,
  401: problemDetails,
  403: problemDetails,
  429: problemDetails,
  503: problemDetails,
};
