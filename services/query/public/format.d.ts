// The types of format.js for the TypeScript that imports it (its unit tests); the page runs the
// JavaScript as it is, with no build step.
import type { ClaimValue } from '@claimtrail/shared/events';

interface SourceRef {
  id: string;
  name?: string | undefined;
}
interface Interval {
  low: number;
  high: number | null;
}

export declare const fmt: (n: number | null | undefined) => string;
export declare function valueText(v: ClaimValue): string;
export declare const when: (iso: string) => string;
export declare function dateSeconds(s: string): number;
export declare const spanText: (from: string, to: string) => string;
export declare const count: (n: number, noun: string) => string;
export declare const intervalText: (i: Interval) => string;
export declare const sourceName: (source: SourceRef) => string;
export declare const metricTitle: (m: { metric: string; label?: string | null | undefined }) => string;
export declare const topicTitle: (t: { topic: string; label?: string | null | undefined }) => string;
export declare const viaText: (via: { id: string; role: string; name?: string | undefined }[] | undefined) => string;
export declare const metricSummaryText: (m: {
  metric: string;
  claims: number;
  sources: number;
  firstStatedAt: string;
  lastStatedAt: string;
}) => string;
export declare const metricMetaText: (m: {
  metric: string;
  unit?: string | null | undefined;
  aggregation?: string | null | undefined;
}) => string;
interface Centred {
  best?: number | null | undefined;
}
export declare const statedChange: (from: Centred, to: Centred) => number | null;
export declare function changeText(latest: {
  previous: { value: ClaimValue; statedAt: string; best?: number | null | undefined };
  best?: number | null | undefined;
}): string;
export declare function hullText(
  figures: { low: number | null; best: number | null; high: number | null }[],
): string | null;
export declare const envelopeText: (e: { sources: number; minLow: number; maxHigh: number | null }) => string;
export declare const checkParts: (c: {
  componentSource: SourceRef;
  compositeSource: SourceRef;
  components: string[];
  sum: Interval;
  against: Interval;
}) => (string | SourceRef)[];
export declare const checkText: (c: {
  componentSource: SourceRef;
  compositeSource: SourceRef;
  components: string[];
  sum: Interval;
  against: Interval;
}) => string;
export declare const gapText: (c: { gap: number | null; direction: string | null }) => string;
export declare const figureText: (k: {
  value: ClaimValue;
  unit: string;
  low: number | null;
  best: number | null;
  high: number | null;
  rule: string;
}) => string;
export declare function dateText(s: string): string;
export declare const publishedStepText: (
  step: { publishedAt: string; to: string; reports: number } | undefined,
) => string;
export declare const instantText: (instant: { knownAt: string; seq: number; types: string[] } | undefined) => string;
export declare const revisionWord: (type: string) => string;
export declare const changesText: (changes: Record<string, unknown>, before?: Record<string, unknown>) => string;
export declare function liveText(o: {
  refused: boolean;
  knownAt: string | null;
  liveSeq: number;
  shownSeq: number;
}): string;
export declare const sourceMetaText: (s: {
  kind?: string | null | undefined;
  country?: string | null | undefined;
}) => string;
export declare function sourceCountsText(s: {
  claims: number;
  topics: number;
  firstStatedAt: string | null;
  lastStatedAt: string | null;
  corrected: number;
  retracted: number;
}): string;
interface StepEnd {
  claimId: string;
  statedAt: string;
  best: number;
}
export declare const stepText: (s: { from: StepEnd; to: StepEnd; change: number; days: number }) => string;
export declare function revisionsText(r: { figures: number; revisions: number; meanAbsChange: number | null }): string;
export declare function checkCountsText(c: {
  byStatus: Record<string, number>;
  unaligned: number;
  checksLeftOff: number;
  checks: unknown[];
}): string;
