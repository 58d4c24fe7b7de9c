import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { cachedTokenStore, type Principal, type TokenStore } from './auth.ts';
import { createAuthFailureLimiter } from './auth-failures.ts';

/** A store whose lookups wait to be settled by the test, counting them. */
function controlledStore() {
  const calls: { resolve(p: Principal | undefined): void; reject(e: Error): void }[] = [];
  const store: TokenStore = {
    lookup: () =>
      new Promise((resolve, reject) => {
        calls.push({ resolve, reject });
      }),
  };
  return { store, calls };
}

const alice: Principal = { principal: 'alice', scopes: ['read'] };

describe('cachedTokenStore', () => {
  it('shares one lookup among concurrent requests of a token, and caches its answer', async () => {
    const { store, calls } = controlledStore();
    const cached = cachedTokenStore(store, 60_000);
    const waiting = [cached.lookup('h'), cached.lookup('h'), cached.lookup('h')];
    const other = cached.lookup('other');
    expect(calls).toHaveLength(2);
    calls[0]!.resolve(alice);
    calls[1]!.resolve(undefined);
    expect(await Promise.all(waiting)).toEqual([alice, alice, alice]);
    expect(await other).toBeUndefined();
    expect(await cached.lookup('h')).toEqual(alice);
    expect(calls).toHaveLength(2);
  });

  it('remembers a failure for failureTtlMs: requests meanwhile fail with it without a lookup', async () => {
    const { store, calls } = controlledStore();
    const cached = cachedTokenStore(store, 60_000, 100);
    const down = new Error('timeout');
    const first = [cached.lookup('h'), cached.lookup('h')];
    calls[0]!.reject(down);
    for (const r of await Promise.allSettled(first)) expect(r).toEqual({ status: 'rejected', reason: down });
    await expect(cached.lookup('h')).rejects.toBe(down);
    expect(calls).toHaveLength(1);
    await sleep(150);
    const again = cached.lookup('h');
    expect(calls).toHaveLength(2);
    calls[1]!.resolve(alice);
    expect(await again).toEqual(alice);
  });
});

/** A store that answers at once from `valid`, counting lookups per hash. */
function countingStore(valid: Record<string, Principal>) {
  const lookups = new Map<string, number>();
  const store: TokenStore = {
    lookup: (hash) => {
      lookups.set(hash, (lookups.get(hash) ?? 0) + 1);
      return Promise.resolve(valid[hash]);
    },
  };
  return { store, lookups };
}

describe('cachedTokenStore: unknown tokens', () => {
  it('cannot push a known token out of the cache, however many there are', async () => {
    const { store, lookups } = countingStore({ h: alice });
    const cached = cachedTokenStore(store, 60_000, 1000, { known: 2, unknown: 3 });
    expect(await cached.lookup('h')).toEqual(alice);
    for (let i = 0; i < 1000; i += 1) expect(await cached.lookup(`bogus-${i}`)).toBeUndefined();
    expect(cached.known('h')).toEqual(alice);
    expect(await cached.lookup('h')).toEqual(alice);
    expect(lookups.get('h')).toBe(1);
  });

  it('remembers an unknown token for the ttl in a bounded cache of its own', async () => {
    const { store, lookups } = countingStore({});
    const cached = cachedTokenStore(store, 60_000, 1000, { known: 2, unknown: 2 });
    await cached.lookup('x');
    await cached.lookup('x');
    expect(lookups.get('x')).toBe(1);
    expect(cached.known('x')).toBeUndefined();
    // Two newer unknown tokens push it out (the oldest goes first): it is looked up again.
    await cached.lookup('y');
    await cached.lookup('z');
    await cached.lookup('x');
    expect(lookups.get('x')).toBe(2);
  });

  it('knows a valid token only while it is fresh', async () => {
    const { store } = countingStore({ h: alice });
    const cached = cachedTokenStore(store, 50);
    expect(cached.known('h')).toBeUndefined();
    await cached.lookup('h');
    expect(cached.known('h')).toEqual(alice);
    await sleep(80);
    expect(cached.known('h')).toBeUndefined();
  });
});

describe('createAuthFailureLimiter', () => {
  it('blocks an address that failed max times until its window ends, and only that address', () => {
    let t = 1_000_000;
    const limiter = createAuthFailureLimiter({ max: 3, windowMs: 60_000, now: () => t });
    for (let i = 0; i < 3; i += 1) {
      expect(limiter.blockedFor('a')).toBe(0);
      limiter.take('a');
    }
    expect(limiter.blockedFor('a')).toBe(60);
    expect(limiter.blockedFor('b')).toBe(0);
    t += 59_500;
    expect(limiter.blockedFor('a')).toBe(1);
    t += 500;
    expect(limiter.blockedFor('a')).toBe(0);
  });

  it('gives back attempts that did not fail', () => {
    const limiter = createAuthFailureLimiter({ max: 2, windowMs: 60_000 });
    for (let i = 0; i < 10; i += 1) {
      limiter.take('a');
      limiter.refund('a');
    }
    expect(limiter.blockedFor('a')).toBe(0);
    limiter.take('a');
    limiter.take('a');
    expect(limiter.blockedFor('a')).toBeGreaterThan(0);
  });

  it('tracks a bounded number of addresses, forgetting the oldest window first', () => {
    const limiter = createAuthFailureLimiter({ max: 1, windowMs: 60_000, addresses: 2 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('c');
    expect(limiter.blockedFor('a')).toBe(0);
    expect(limiter.blockedFor('b')).toBeGreaterThan(0);
    expect(limiter.blockedFor('c')).toBeGreaterThan(0);
  });
});
