export { canonicalJson, canonicalTextOf } from './canonical-json.ts';
export { fuzzyDate, instant, mustParseFuzzyDate, parseFuzzyDate, type DatePrecision, type FuzzyDate } from './dates.ts';
export * from './schemas.ts';
export { metricSlug, sourceSlug, text, textProblem, topicSlug, METRIC_RE, TOPIC_RE } from './text.ts';
export {
  decodeEvent,
  upcastEnvelope,
  upcastSteps,
  type DecodeResult,
  type UpcastRegistry,
  type UpcastStep,
} from './upcast.ts';
export { createSubjects, type Subjects } from './subjects.ts';
export {
  claimValue,
  DEFAULT_RULE,
  getNormalisationRule,
  normalisationRules,
  type Bounds,
  type ClaimValue,
  type NormalisationRule,
} from './values.ts';
