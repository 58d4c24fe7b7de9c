// GET /v1/sources and GET /v1/sources/{sourceId}: who made claims, and each source's record.
import { z } from 'zod';
import { compositeCheck, historyPoint, historyQuery, readParams, statedParams } from './queries.ts';

// The same parameters as the history's: `includeRetracted` ("true", "false", "1", "0") and `cursor`.
const { includeRetracted, cursor } = historyQuery.shape;

/** A page of sources: 100 by default, at most 1000. */
export const SOURCES_PAGE = { default: 100, max: 1000 } as const;
/** A page of a source's points (across all its topics and metrics): 10,000 by default, at most 50,000. */
export const SOURCE_POINTS_PAGE = { default: 10_000, max: 50_000 } as const;

export const sourcesQuery = z.strictObject({
  ...readParams,
  ...statedParams,
  limit: z.coerce.number().int().min(1).max(SOURCES_PAGE.max).default(SOURCES_PAGE.default),
  cursor,
});

export const sourceQuery = z.strictObject({
  ...readParams,
  ...statedParams,
  includeRetracted,
  limit: z.coerce.number().int().min(1).max(SOURCE_POINTS_PAGE.max).default(SOURCE_POINTS_PAGE.default),
  cursor,
});

/** A source as registered at the instant, with counts over every claim attributed to it then. */
export const sourceEntry = z.object({
  id: z.string(),
  name: z.string().nullable(),
  kind: z.string().nullable(),
  country: z.string().nullable(),
  /** Its claims, retracted ones included. */
  claims: z.number().int(),
  /** Distinct topics of its claims. */
  topics: z.number().int(),
  /** Earliest and latest statedAt of its claims; null when it has none (a source named only as a hop). */
  firstStatedAt: z.string().nullable(),
  lastStatedAt: z.string().nullable(),
  /** Its claims whose transcription was corrected. */
  corrected: z.number().int(),
  /** Its claims retracted. */
  retracted: z.number().int(),
});
export type SourceEntry = z.infer<typeof sourceEntry>;

export const sourcesResponse = z.object({
  asOfSeq: z.number().int(),
  knownAt: z.string(),
  /** The publishedBy the answer was read at, as given. */
  publishedBy: z.string().optional(),
  sources: z.array(sourceEntry),
  /** The `cursor` of the next page of sources, or null on the last one. */
  nextCursor: z.string().nullable(),
});

/** A figure of a revision step: the claim and the centre it stated. */
const stepEnd = z.object({ claimId: z.string(), statedAt: z.string(), best: z.number() });

/** One revision: the source's figure after its previous one for the same topic and metric. */
export const revisionStep = z.object({
  from: stepEnd,
  to: stepEnd,
  /** to.best − from.best. */
  change: z.number(),
  /** Days between the two statedAt (their starts). */
  days: z.number(),
});
export type RevisionStep = z.infer<typeof revisionStep>;

export const sourceCheck = compositeCheck.extend({
  topic: z.string(),
  /** Which side of the check the source is on: its parts' sum, or its composite claim. */
  side: z.enum(['components', 'composite']),
});

export const sourceRecordMetric = z.object({
  topic: z.string(),
  metric: z.string(),
  /** Its figures with a stated centre (exact, approx, range with best), not retracted: those revisions compare. */
  figures: z.number().int(),
  /** Steps that changed the figure (a step restating the same figure is none). */
  revisions: z.number().int(),
  /** Mean of |change| over the revisions; null without one. */
  meanAbsChange: z.number().nullable(),
  /** Every step between successive figures, in statedAt order, restatements included. */
  steps: z.array(revisionStep),
  /** Checks of this composite metric in which the source is on one side and another source on the other. */
  checks: z.object({
    consistent: z.number().int(),
    gap: z.number().int(),
    /** Every status's count, those two included, over the checks worked out. */
    byStatus: z.record(z.string(), z.number().int()),
    /** Pairs of its claims and another source's further apart in time than the tolerance: no check. */
    unaligned: z.number().int(),
    /**
     * Checks not listed: past the 20 listed (counted by status), and past the summary's limit of
     * a list (worked out by the summary but not counted by status).
     */
    checksLeftOff: z.number().int(),
    /** Up to 20 checks, the newest composite claims first. */
    checks: z.array(sourceCheck),
  }),
});
export type SourceRecordMetric = z.infer<typeof sourceRecordMetric>;

export const sourceResponse = z.object({
  asOfSeq: z.number().int(),
  knownAt: z.string(),
  /** The publishedBy the answer was read at, as given. */
  publishedBy: z.string().optional(),
  source: sourceEntry,
  /** Its claims by topic and metric, as history points, in (topic, metric, statedAt, seq) order. */
  metrics: z.array(
    z.object({ topic: z.string(), metric: z.string(), unit: z.string(), points: z.array(historyPoint) }),
  ),
  record: z.object({
    metrics: z.array(sourceRecordMetric),
    /** Topics whose checks were not worked out: past the most one answer checks (docs/api.md). */
    uncheckedTopics: z.array(z.string()),
  }),
  /** The `cursor` of the next page of points, or null on the last one; `source` and `record` are whole on every page. */
  nextCursor: z.string().nullable(),
});
export type SourceResponse = z.infer<typeof sourceResponse>;
