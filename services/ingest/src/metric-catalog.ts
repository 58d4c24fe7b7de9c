import type { EventData } from '@claimtrail/shared/events';
import type { EventStore, LastOfType } from './event-store.ts';

export type MetricInForce = LastOfType<'MetricDefined'>['found'];

/** What a report's claims need to know of the metrics they name, kept briefly. */
export interface MetricCatalog {
  /** The definition in force of each metric (undefined: none), read with one direct get each. */
  inForce(metrics: readonly string[]): Promise<Map<string, MetricInForce>>;
  /** The same read, past the cache: after a write that expected the metric undefined lost a race. */
  inForceNow(metric: string): Promise<MetricInForce>;
  /** The names of the defined metrics: the metric subjects of the stream. */
  definedNames(): Promise<Set<string>>;
  /** A definition this process wrote itself, taken as freshly read. */
  remember(metric: string, found: NonNullable<MetricInForce>): void;
}

/**
 * How long a definition read (or its absence) is trusted. A redefinition by another process is
 * seen by the unit checks within this time; a metric defined elsewhere meanwhile is caught by the
 * write that defines it anew, which expects its subject to be empty.
 */
export const DEFINITION_TTL_MS = 2000;
/** How long the list of metric subjects is trusted: it only feeds the similar-name warning. */
export const NAMES_TTL_MS = 5000;
/** Entries kept at most; past it the cache starts again (many distinct names are a hostile client). */
const MAX_ENTRIES = 10_000;

/**
 * A cache in front of the stream: each read is shared by every request that needs it while it is
 * under way or fresh, so a report costs no read at all for metrics read in the last seconds. The
 * names are read from the stream's subjects under `<prefix>.metric.` (stream info with a subjects
 * filter: a walk of the stream's subject index on the server, so only when a new metric needs it,
 * at most every few seconds).
 */
export function createMetricCatalog(store: EventStore, clock: () => number = Date.now): MetricCatalog {
  const entries = new Map<string, { at: number; value: Promise<MetricInForce> }>();
  let names: { at: number; value: Promise<Set<string>> } | undefined;
  const learnt = new Set<string>();
  const prefix = store.subjects.metric('');

  const read = (metric: string): Promise<MetricInForce> => {
    const value = store.lastOfType(store.subjects.metric(metric), 'MetricDefined').then((r) => r.found);
    if (entries.size >= MAX_ENTRIES) entries.clear();
    const entry = { at: clock(), value };
    entries.set(metric, entry);
    // A failed read is not kept: the next request reads again.
    value.catch(() => {
      if (entries.get(metric) === entry) entries.delete(metric);
    });
    return value;
  };

  return {
    async inForce(metrics) {
      const now = clock();
      const reads = metrics.map((m) => {
        const e = entries.get(m);
        return e && now - e.at < DEFINITION_TTL_MS ? e.value : read(m);
      });
      const found = await Promise.all(reads);
      return new Map(metrics.map((m, i) => [m, found[i]]));
    },
    inForceNow: (metric) => read(metric),
    async definedNames() {
      const now = clock();
      if (!names || now - names.at >= NAMES_TTL_MS) {
        const value = store
          .subjectNames(`${prefix}>`)
          .then((subjects) => new Set(subjects.map((s) => s.slice(prefix.length))));
        const entry = { at: now, value };
        names = entry;
        value.catch(() => {
          if (names === entry) names = undefined;
        });
      }
      const known = await names.value;
      return learnt.size === 0 ? known : new Set([...known, ...learnt]);
    },
    remember(metric, found) {
      entries.set(metric, { at: clock(), value: Promise.resolve(found) });
      if (learnt.size >= MAX_ENTRIES) learnt.clear();
      learnt.add(metric);
    },
  };
}

/** The definition ingest writes for a metric a claim names before anyone defined it. */
export function definitionByClaim(metric: string, unit: string): EventData<'MetricDefined'> {
  // Keys in canonical (sorted) order.
  return { aggregation: 'cumulative', label: metric, metric, unit };
}
