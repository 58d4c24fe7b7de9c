import { describe, expect, it } from 'vitest';
import { decodeCursor } from './cursor.ts';
import type { ReadContext } from './read-context.ts';
import { createTopicsCache, type TopicEntry } from './topics-cache.ts';

const ctx = (asOfSeq: number, schema = 's'): ReadContext => ({
  schema,
  asOfSeq,
  knownAt: new Date().toISOString(),
  past: false,
});
const list = (n: number): TopicEntry[] =>
  Array.from({ length: n }, (_, i) => ({ topic: `t-${String(i).padStart(3, '0')}`, metrics: [] }));

describe('the topics of now', () => {
  it('are computed once per asOfSeq however many requests ask at once', async () => {
    let computed = 0;
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    const cache = createTopicsCache({
      compute: async () => {
        computed++;
        await done;
        return list(3);
      },
    });
    const pages = Array.from({ length: 1500 }, () => cache.page(ctx(7), undefined, 100));
    finish();
    const answers = await Promise.all(pages);
    expect(computed).toBe(1);
    expect(new Set(answers.map((a) => a.topics)).size).toBe(1);
    await cache.page(ctx(7), undefined, 100);
    expect(computed).toBe(1);
    await cache.page(ctx(8), undefined, 100);
    await cache.page(ctx(8, 'promoted'), undefined, 100);
    expect(computed).toBe(3);
  });

  it('do not keep a failure: the next request computes again', async () => {
    let calls = 0;
    const cache = createTopicsCache({
      compute: () => (++calls === 1 ? Promise.reject(new Error('timeout')) : Promise.resolve(list(1))),
    });
    await expect(cache.page(ctx(1), undefined, 10)).rejects.toThrow('timeout');
    await expect(cache.page(ctx(1), undefined, 10)).resolves.toMatchObject({ nextCursor: 'null' });
  });

  it('are cut into pages that join to the whole list', async () => {
    const all = list(25);
    const cache = createTopicsCache({ compute: () => Promise.resolve(all) });
    const joined: TopicEntry[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await cache.page(ctx(1), after, 10);
      joined.push(...(JSON.parse(page.topics) as TopicEntry[]));
      const next = JSON.parse(page.nextCursor) as string | null;
      if (next === null) break;
      after = decodeCursor('topics', next).after;
    }
    expect(joined).toEqual(all);
  });
});
