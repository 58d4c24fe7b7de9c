import { describe, expect, it } from 'vitest';
import { UnavailableError } from '@claimtrail/shared/errors';
import { AbandonedError, createReadLanes } from './read-lanes.ts';

/** A read that ends when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, read: () => opened.then(() => 'done') };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('read lanes', () => {
  it('runs up to a lane’s concurrency at once, queues a few, and turns the rest away with a Retry-After', async () => {
    const lanes = createReadLanes({ total: 10, maxWaitMs: 10_000, lanes: { a: { concurrency: 2, queue: 3 } } });
    const g = gate();
    const outcomes = Array.from({ length: 10 }, () =>
      lanes.run('a', g.read).then(
        (v) => v,
        (err: unknown) => err,
      ),
    );
    await settle();
    expect(lanes.stats().lanes.a).toEqual({ active: 2, waiting: 3 });
    g.open();
    const done = await Promise.all(outcomes);
    expect(done.filter((d) => d === 'done')).toHaveLength(5);
    const refused = done.filter((d) => d instanceof UnavailableError);
    expect(refused).toHaveLength(5);
    expect(refused[0]).toMatchObject({ retryAfterS: 1, message: expect.stringContaining('too many reads of a') });
    expect(lanes.stats()).toMatchObject({ active: 0, rejected: 5 });
  });

  it('answers a request that waited longer than maxWaitMs with 503 instead of running it late', async () => {
    const lanes = createReadLanes({ total: 10, maxWaitMs: 50, lanes: { a: { concurrency: 1, queue: 5 } } });
    const g = gate();
    const first = lanes.run('a', g.read);
    const t0 = performance.now();
    await expect(lanes.run('a', g.read)).rejects.toBeInstanceOf(UnavailableError);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(lanes.stats().lanes.a).toEqual({ active: 1, waiting: 0 });
    g.open();
    await expect(first).resolves.toBe('done');
  });

  it('keeps a lane of its own for each route: a full lane does not hold back another', async () => {
    const lanes = createReadLanes({
      total: 3,
      maxWaitMs: 10_000,
      lanes: { topics: { concurrency: 2, queue: 100 }, history: { concurrency: 2, queue: 100 } },
    });
    const flood = gate();
    const topics = Array.from({ length: 50 }, () => lanes.run('topics', flood.read).catch(() => 'refused'));
    await settle();
    // Two topics reads hold two of the three places; the history read gets the third at once.
    await expect(lanes.run('history', () => Promise.resolve('history'))).resolves.toBe('history');
    flood.open();
    expect(await Promise.all(topics)).toEqual(Array(50).fill('done'));
  });

  it('hands freed places to the lanes in turn under the total', async () => {
    const lanes = createReadLanes({
      total: 1,
      maxWaitMs: 10_000,
      lanes: { a: { concurrency: 1, queue: 10 }, b: { concurrency: 1, queue: 10 } },
    });
    const order: string[] = [];
    const step = (name: string) => () => {
      order.push(name);
      return Promise.resolve(name);
    };
    const g = gate();
    const first = lanes.run('a', g.read);
    const queued = [
      lanes.run('a', step('a1')),
      lanes.run('a', step('a2')),
      lanes.run('b', step('b1')),
      lanes.run('b', step('b2')),
    ];
    await settle();
    g.open();
    await Promise.all([first, ...queued]);
    expect(order).toEqual(['b1', 'a1', 'b2', 'a2']);
  });

  it('lets a request whose client went away leave the queue', async () => {
    const lanes = createReadLanes({ total: 10, maxWaitMs: 10_000, lanes: { a: { concurrency: 1, queue: 5 } } });
    const g = gate();
    const first = lanes.run('a', g.read);
    const gone = new AbortController();
    const waiting = lanes.run('a', () => Promise.resolve('never'), gone.signal);
    await settle();
    gone.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbandonedError);
    expect(lanes.stats().lanes.a.waiting).toBe(0);
    g.open();
    await first;
  });
});
