import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { cachedTokenStore, type Principal, type TokenStore } from './auth.ts';

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
