// The bench's product stream (as ingest would have written it): 6 MetricDefined and 200
// SourceRegistered first, then reports of 10 claim events each, about 90 % new claims, 5 %
// corrections and 5 % echoes of a recent claim, across 50 topics and 200 sources. Every 50th event
// is a new claim of the "focus" series (topic `focus`, metric `killed`, 20 sources), so a stream
// of N events holds 20 sources × N/1,000 points of it for the history query. Claims carry what
// sources say beside the figure (confidence, likelihood, a note) and reports their kind, as ingest
// writes them; named hops, which add a registration a report, are measured by the fields group.
import { syntheticRecordedAt, type SyntheticEventsOptions } from '@claimtrail/shared/testing';

export const FOCUS_TOPIC = 'focus';
export const FOCUS_METRIC = 'killed';

/** The generator's options for a stream of `count` events under `prefix`; `seed` makes its ids its own. */
export function productEventOptions(count: number, prefix: string, seed: string): SyntheticEventsOptions {
  return {
    count,
    prefix,
    seed,
    stepMs: 10,
    actor: 'bench',
    topics: Array.from({ length: 50 }, (_, i) => `topic-${i}`),
    metrics: ['killed', 'wounded', 'displaced', 'troops', 'detained', 'missing'],
    sources: 200,
    preamble: true,
    mix: { corrected: 0.05, cited: 0.05, retracted: 0, renamed: 0 },
    valueKinds: ['approx'],
    focus: { topic: FOCUS_TOPIC, metric: FOCUS_METRIC, sources: 20, every: 50 },
    quote: (_, value) => `officials said about ${value} people were affected, a figure that could rise`,
    fields: { qualifiers: true, note: true, reportKind: true },
  };
}

/** `recordedAt` of the n-th event (0-based) of a product stream. */
export const recordedAtOf = (n: number): string => syntheticRecordedAt(productEventOptions(n + 1, 'bench', ''), n);
