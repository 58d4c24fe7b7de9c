// GET /v1/topics "now" (no knownAt) is the same answer for every request at one asOfSeq, and it
// aggregates every current claim: it is computed once per (schema, asOfSeq), by one statement that
// the requests arriving meanwhile share (single flight), and its pages are kept as JSON text. A
// flood of identical requests then costs one statement and no serialisation each.
import type { ReadContext } from './read-context.ts';
import { encodeCursor } from './cursor.ts';

export interface TopicEntry {
  topic: string;
  metrics: unknown[];
}

/** A page as JSON text: the `topics` array and the `nextCursor` value (a string or null). */
export interface TopicsPageJson {
  topics: string;
  nextCursor: string;
}

interface Entry {
  topics: TopicEntry[];
  pages: Map<string, TopicsPageJson>;
}

/** Pages kept per asOfSeq (one per cursor and limit asked for): past it, they are made again. */
const PAGES_KEPT = 256;

export function createTopicsCache(o: {
  /** The whole list at the context's asOfSeq, in byte order of topic. */
  compute: (ctx: ReadContext) => Promise<TopicEntry[]>;
  /** asOfSeqs kept: the newest few, since a request's asOfSeq can trail another's by a little. */
  keep?: number;
}) {
  const keep = o.keep ?? 2;
  const entries = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<Entry>>();

  function entry(ctx: ReadContext): Promise<Entry> {
    const key = `${ctx.schema}\u0000${ctx.asOfSeq}`;
    const hit = entries.get(key);
    if (hit) return Promise.resolve(hit);
    let flight = inFlight.get(key);
    if (!flight) {
      flight = o
        .compute(ctx)
        .then((topics) => {
          const e: Entry = { topics, pages: new Map() };
          entries.set(key, e);
          while (entries.size > keep) entries.delete(entries.keys().next().value!);
          return e;
        })
        .finally(() => inFlight.delete(key));
      inFlight.set(key, flight);
    }
    return flight;
  }

  /** Index of the first topic after `after` (byte order, as the topics are sorted). */
  function startOf(topics: TopicEntry[], after: string | undefined): number {
    if (after === undefined) return 0;
    let lo = 0;
    let hi = topics.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (topics[mid]!.topic <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  return {
    /** A page of the "now" topics at the context's asOfSeq: `limit` topics after `after`. */
    async page(ctx: ReadContext, after: string | undefined, limit: number): Promise<TopicsPageJson> {
      const e = await entry(ctx);
      const key = `${after ?? ''}\u0000${limit}`;
      const kept = e.pages.get(key);
      if (kept) return kept;
      const start = startOf(e.topics, after);
      const slice = e.topics.slice(start, start + limit);
      const more = start + limit < e.topics.length;
      const page: TopicsPageJson = {
        topics: JSON.stringify(slice),
        nextCursor: more ? JSON.stringify(encodeCursor({ k: 'topics', after: slice.at(-1)!.topic })) : 'null',
      };
      if (e.pages.size >= PAGES_KEPT) e.pages.clear();
      e.pages.set(key, page);
      return page;
    },
  };
}
