// The API's paged answers (`nextCursor`, docs/query-limits.md) read to their end and joined into
// the answer one page would have been. Plain functions of the answers, no fetch and no DOM.

/**
 * Asks `get(cursor)` for pages, the first with no cursor, each next one with the page before's
 * `nextCursor`, until that is null or `enough(page)` says the rest is not needed.
 */
export async function readPages(get, enough = () => false) {
  const pages = [];
  const seen = new Set();
  let cursor;
  for (;;) {
    const page = await get(cursor);
    pages.push(page);
    const next = page.nextCursor ?? null;
    if (next === null || enough(page)) return pages;
    // A cursor handed out twice would never end the walk.
    if (seen.has(next)) throw new Error(`the API gave the same cursor twice: ${next}`);
    seen.add(next);
    cursor = next;
  }
}

/**
 * Topic pages as one list. Each page may be as of another checkpoint; the list is shown as of
 * the oldest, so the live feed's next seq redraws it.
 */
export function joinTopicPages(pages) {
  return {
    ...pages[0],
    asOfSeq: Math.min(...pages.map((p) => p.asOfSeq)),
    topics: pages.flatMap((p) => p.topics),
    nextCursor: null,
  };
}

/**
 * History pages as one answer: a source's points may be spread over several pages, joined by
 * `source.id` in page order, and its series keeps the place of its first point.
 */
export function joinHistoryPages(pages) {
  const bySource = new Map();
  for (const page of pages) {
    for (const s of page.series) {
      const joined = bySource.get(s.source.id);
      if (joined) joined.points = joined.points.concat(s.points);
      else bySource.set(s.source.id, { ...s, points: s.points.slice() });
    }
  }
  return { ...pages[0], series: [...bySource.values()], nextCursor: null };
}

/**
 * A source's pages as one answer: a (topic, metric) series may be spread over several pages,
 * joined in page order; `source` and `record` are whole on every page.
 */
export function joinSourcePages(pages) {
  const bySeries = new Map();
  for (const page of pages) {
    for (const s of page.metrics) {
      const key = `${s.topic}\u0000${s.metric}`;
      const joined = bySeries.get(key);
      if (joined) joined.points = joined.points.concat(s.points);
      else bySeries.set(key, { ...s, points: s.points.slice() });
    }
  }
  return { ...pages[0], metrics: [...bySeries.values()], nextCursor: null };
}
