import { z } from 'zod';
import { fuzzyDate, instant } from './dates.ts';
import { metricSlug, sourceSlug, text, topicSlug } from './text.ts';
import { claimValue } from './values.ts';

export const SOURCE_KINDS = [
  'intelligence_agency',
  'military',
  'government',
  'head_of_state',
  'official',
  'legislator',
  'media',
  'ngo',
  'anonymous',
  'academic',
  'international_org',
  'monitor',
  'other',
] as const;
/** What kind of document a report is. */
export const REPORT_KINDS = [
  'news',
  'statement',
  'briefing',
  'interview',
  'social_post',
  'leaked_document',
  'study',
  'dataset',
  'other',
] as const;
/** The source's own stated confidence. */
export const CONFIDENCE_LEVELS = ['high', 'moderate', 'low'] as const;
export const VIA_ROLES = ['briefer', 'spokesperson', 'relay', 'publisher', 'translator'] as const;
export const RETRACTED_BY = ['source', 'publisher', 'editor'] as const;
export const AGGREGATIONS = ['cumulative', 'incremental', 'stock'] as const;

export const reportId = z.string().regex(/^rpt_[0-9a-f]{24}$/, 'must be rpt_ followed by 24 hex digits');
export const claimId = z.string().regex(/^clm_[0-9a-f]{24}$/, 'must be clm_ followed by 24 hex digits');
export const countryCode = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code such as KR');
export const unit = text(64).regex(/^[a-z0-9_%/.-]+$/, 'must be a unit such as persons');

export const viaHopV1 = z.strictObject({ id: sourceSlug, role: z.enum(VIA_ROLES) });
/** A hop of the attribution chain; its name registers or updates that source's name. */
export const viaHop = z.strictObject({ id: sourceSlug, role: z.enum(VIA_ROLES), name: text(200).optional() });
/** The source's own qualifiers and the analyst's note, as a claim states them. */
const qualifiers = {
  confidence: z.enum(CONFIDENCE_LEVELS).optional(),
  likelihood: text(64).optional(),
  note: text(2000).optional(),
};

/** `data` of each event type, version 1. Events hold what was said, never what a rule derives. */
export const reportSubmittedV1 = z.strictObject({
  reportId,
  url: text(2048),
  publisher: text(200),
  title: text(500).optional(),
  publishedAt: fuzzyDate,
  language: text(35).optional(),
  retrievedAt: fuzzyDate.optional(),
  claimCount: z.number().int().min(0),
});
/** Version 2 adds `kind`. */
export const reportSubmittedV2 = reportSubmittedV1.extend({ kind: z.enum(REPORT_KINDS).optional() });
export const sourceRegisteredV1 = z.strictObject({
  sourceId: sourceSlug,
  name: text(200).optional(),
  kind: z.enum(SOURCE_KINDS).optional(),
  country: countryCode.optional(),
});
export const claimRecordedV1 = z.strictObject({
  claimId,
  reportId,
  topic: topicSlug,
  metric: metricSlug,
  value: claimValue,
  unit,
  sourceId: sourceSlug,
  via: z.array(viaHop).max(8),
  statedAt: fuzzyDate,
  validFrom: fuzzyDate,
  validTo: fuzzyDate,
  quote: text(2000).optional(),
});
/** Version 2: hops may carry a name, and the qualifiers and note. */
export const claimRecordedV2 = claimRecordedV1.extend({ via: z.array(viaHop).max(8), ...qualifiers });
export const claimCitedV1 = z.strictObject({
  claimId,
  reportId,
  via: z.array(viaHopV1).max(8),
  quote: text(2000).optional(),
});
/** Version 2: hops may carry a name. */
export const claimCitedV2 = claimCitedV1.extend({ via: z.array(viaHop).max(8) });
const changesV1 = {
  value: claimValue.optional(),
  unit: unit.optional(),
  statedAt: fuzzyDate.optional(),
  validFrom: fuzzyDate.optional(),
  validTo: fuzzyDate.optional(),
  metric: metricSlug.optional(),
  quote: text(2000).optional(),
};
const someChange = (c: Record<string, unknown>) => Object.values(c).some((v) => v !== undefined);
export const claimChangesV1 = z
  .strictObject(changesV1)
  .refine(someChange, { message: 'must change at least one field' });
/** The source a claim is attributed to, as a correction names it (a misattribution). */
export const sourceChange = z.strictObject({
  id: sourceSlug,
  name: text(200).optional(),
  kind: z.enum(SOURCE_KINDS).optional(),
  country: countryCode.optional(),
});
/**
 * Version 2 adds the source (a misattribution), the attribution chain, and the qualifiers and
 * note, which `null` clears.
 */
export const claimChanges = z
  .strictObject({
    ...changesV1,
    source: sourceChange.optional(),
    via: z.array(viaHop).max(8).optional(),
    confidence: z.enum(CONFIDENCE_LEVELS).nullable().optional(),
    likelihood: text(64).nullable().optional(),
    note: text(2000).nullable().optional(),
  })
  .refine(someChange, { message: 'must change at least one field' });
export const claimCorrectedV1 = z.strictObject({ claimId, changes: claimChangesV1, reason: text(2000) });
export const claimCorrectedV2 = z.strictObject({ claimId, changes: claimChanges, reason: text(2000) });
export const claimRetractedV1 = z.strictObject({ claimId, reason: text(2000), by: z.enum(RETRACTED_BY) });
export const metricDefinedV1 = z.strictObject({
  metric: metricSlug,
  label: text(200),
  unit,
  aggregation: z.enum(AGGREGATIONS),
  composedOf: z.array(metricSlug).max(32).optional(),
});

/** A topic's name and description, for people (the slug is the topic's id). */
export const topicDefinedV1 = z.strictObject({
  topic: topicSlug,
  label: text(200),
  description: text(2000).optional(),
});

/** `data` of the current version of every event type, as written: zod's runtime parser. */
export const dataSchemas = {
  ReportSubmitted: reportSubmittedV2,
  SourceRegistered: sourceRegisteredV1,
  ClaimRecorded: claimRecordedV2,
  ClaimCited: claimCitedV2,
  ClaimCorrected: claimCorrectedV2,
  ClaimRetracted: claimRetractedV1,
  MetricDefined: metricDefinedV1,
  TopicDefined: topicDefinedV1,
} as const;

/**
 * zod's own compiler (`z.compile`): a generated function parses what it can prove valid, and
 * hands everything else to the runtime parser above, which gives the reasons. It halves the
 * time an event's validation takes. `strict`: a schema it cannot compile fails loudly at load
 * instead of quietly staying on the runtime parser. `schemas.unit.test.ts` checks that both
 * parsers give the same answers.
 */
const compiled = <T extends z.ZodType>(schema: T): T => z.compile(schema, { strict: true });

/** Current (latest) version and schema of every event type. */
export const eventSchemas = {
  ReportSubmitted: { version: 2, data: compiled(reportSubmittedV2) },
  SourceRegistered: { version: 1, data: compiled(sourceRegisteredV1) },
  ClaimRecorded: { version: 2, data: compiled(claimRecordedV2) },
  ClaimCited: { version: 2, data: compiled(claimCitedV2) },
  ClaimCorrected: { version: 2, data: compiled(claimCorrectedV2) },
  ClaimRetracted: { version: 1, data: compiled(claimRetractedV1) },
  MetricDefined: { version: 1, data: compiled(metricDefinedV1) },
  TopicDefined: { version: 1, data: compiled(topicDefinedV1) },
} as const;

export type EventType = keyof typeof eventSchemas;
export const EVENT_TYPES = Object.keys(eventSchemas) as EventType[];
export type EventData<T extends EventType> = z.infer<(typeof eventSchemas)[T]['data']>;

/** The envelope as written (zod's runtime parser); `envelopeSchema` is its compiled form. */
export const envelopeRuntimeSchema = z.strictObject({
  eventId: z.uuid({ version: 'v7' }),
  type: z.string().min(1).max(64),
  version: z.number().int().min(1),
  recordedAt: instant,
  actor: z.string().min(1).max(200),
  requestId: z.string().min(1).max(200),
  data: z.unknown(),
});
export const envelopeSchema = compiled(envelopeRuntimeSchema);
export type RawEnvelope = z.infer<typeof envelopeSchema>;

/** An envelope whose `data` is valid for the current version of its type. */
export type ClaimtrailEvent = {
  [T in EventType]: Omit<RawEnvelope, 'type' | 'data'> & { type: T; data: EventData<T> };
}[EventType];

export type ClaimChanges = z.infer<typeof claimChanges>;
export type ViaHop = z.infer<typeof viaHop>;
