import { describe, expect, it } from 'vitest';
import { joinHistoryPages, joinSourcePages, joinTopicPages, readPages } from './pages.js';

/** Pages of `items`, `size` at a time, as the API hands them out: the cursor is where the next page starts. */
function pager<T>(items: T[], size: number) {
  const asked: (string | undefined)[] = [];
  const get = (cursor: string | undefined) => {
    asked.push(cursor);
    const start = cursor === undefined ? 0 : Number(cursor.slice(1));
    const end = start + size;
    return Promise.resolve({ items: items.slice(start, end), nextCursor: end < items.length ? `c${end}` : null });
  };
  return { get, asked };
}

describe('readPages', () => {
  it('follows nextCursor from the first page, which has none, to the last', async () => {
    const { get, asked } = pager([1, 2, 3, 4, 5, 6, 7], 3);
    const pages = await readPages(get);
    expect(pages.map((p) => p.items)).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(asked).toEqual([undefined, 'c3', 'c6']);
  });

  it('reads one page when the answer fits, as before pagination (nextCursor null or absent)', async () => {
    const { get, asked } = pager([1, 2], 100);
    expect((await readPages(get)).length).toBe(1);
    expect(asked).toEqual([undefined]);
    const noCursor: { items: number[]; nextCursor?: string } = { items: [1] };
    expect((await readPages(() => Promise.resolve(noCursor))).length).toBe(1);
  });

  it('stops at the page that is enough', async () => {
    const { get, asked } = pager([1, 2, 3, 4, 5, 6, 7], 2);
    const pages = await readPages(get, (p) => p.items.some((n) => n >= 3));
    expect(pages.map((p) => p.items)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(asked).toEqual([undefined, 'c2']);
  });

  it('refuses a cursor handed out twice rather than loop for ever', async () => {
    let calls = 0;
    const get = () => Promise.resolve({ n: ++calls, nextCursor: 'same' });
    await expect(readPages(get)).rejects.toThrow(/the same cursor twice: same/);
    expect(calls).toBe(2);
  });

  it('passes on a failed page', async () => {
    const get = (cursor: string | undefined) =>
      cursor === undefined ? Promise.resolve({ nextCursor: 'next' }) : Promise.reject(new Error('503'));
    await expect(readPages(get)).rejects.toThrow('503');
  });
});

describe('joinTopicPages', () => {
  it('lists every page’s topics in order, as of the oldest page', () => {
    const joined = joinTopicPages([
      { asOfSeq: 40, knownAt: 'k1', topics: [{ topic: 'a' }, { topic: 'b' }], nextCursor: 'x' },
      { asOfSeq: 38, knownAt: 'k2', topics: [{ topic: 'c' }], nextCursor: 'y' },
      { asOfSeq: 41, knownAt: 'k3', topics: [], nextCursor: null },
    ]);
    expect(joined).toEqual({
      asOfSeq: 38,
      knownAt: 'k1',
      topics: [{ topic: 'a' }, { topic: 'b' }, { topic: 'c' }],
      nextCursor: null,
    });
  });
});

describe('joinHistoryPages', () => {
  // One big answer: three sources whose points interleave in (statedFrom, seq) order.
  const order = ['kr-nis', 'ua', 'kr-nis', 'us', 'ua', 'kr-nis', 'us', 'kr-nis'];
  const points = order.map((source, i) => ({ source, seq: i + 1 }));
  const seriesOf = (pts: typeof points) => {
    const bySource = new Map<string, { source: { id: string; name: string }; points: { seq: number }[] }>();
    for (const p of pts) {
      let s = bySource.get(p.source);
      if (!s) bySource.set(p.source, (s = { source: { id: p.source, name: p.source.toUpperCase() }, points: [] }));
      s.points.push({ seq: p.seq });
    }
    return [...bySource.values()];
  };
  const answer = (pts: typeof points, nextCursor: string | null) => ({
    topic: 't',
    metric: 'killed',
    unit: 'persons',
    asOfSeq: 8,
    knownAt: '2025-03-01T00:00:00.000Z',
    series: seriesOf(pts),
    nextCursor,
  });
  const whole = answer(points, null);

  it('equals the one big answer however the points are split into pages', () => {
    for (let size = 1; size <= points.length; size++) {
      const pages = [];
      for (let start = 0; start < points.length; start += size) {
        const end = start + size;
        pages.push(answer(points.slice(start, end), end < points.length ? `c${end}` : null));
      }
      expect(joinHistoryPages(pages), `pages of ${size}`).toEqual(whole);
    }
  });

  it('leaves the pages it joined as they were', () => {
    const pages = [answer(points.slice(0, 3), 'c3'), answer(points.slice(3), null)];
    const before = structuredClone(pages);
    joinHistoryPages(pages);
    expect(pages).toEqual(before);
  });

  it('keeps an empty answer empty', () => {
    expect(joinHistoryPages([answer([], null)]).series).toEqual([]);
  });
});

describe('joinSourcePages', () => {
  // One big answer: a source's points in (topic, metric, statedAt, seq) order, three series.
  const keys = [
    ['t1', 'killed'],
    ['t1', 'killed'],
    ['t1', 'wounded'],
    ['t2', 'killed'],
    ['t2', 'killed'],
    ['t2', 'killed'],
  ] as const;
  const points = keys.map(([topic, metric], i) => ({ topic, metric, seq: i + 1 }));
  const record = { metrics: [{ topic: 't1', metric: 'killed', revisions: 1 }], uncheckedTopics: [] };
  const answer = (pts: typeof points, nextCursor: string | null) => {
    const series: { topic: string; metric: string; unit: string; points: { seq: number }[] }[] = [];
    for (const p of pts) {
      const last = series.at(-1);
      if (last?.topic === p.topic && last.metric === p.metric) last.points.push({ seq: p.seq });
      else series.push({ topic: p.topic, metric: p.metric, unit: 'persons', points: [{ seq: p.seq }] });
    }
    return { asOfSeq: 9, knownAt: 'k', source: { id: 's' }, metrics: series, record, nextCursor };
  };
  const whole = answer(points, null);

  it('equals the one big answer however the points are split into pages', () => {
    for (let size = 1; size <= points.length; size++) {
      const pages = [];
      for (let start = 0; start < points.length; start += size) {
        const end = start + size;
        pages.push(answer(points.slice(start, end), end < points.length ? `c${end}` : null));
      }
      expect(joinSourcePages(pages), `pages of ${size}`).toEqual(whole);
    }
  });

  it('leaves the pages it joined as they were', () => {
    const pages = [answer(points.slice(0, 1), 'c1'), answer(points.slice(1), null)];
    const before = structuredClone(pages);
    joinSourcePages(pages);
    expect(pages).toEqual(before);
  });
});
