import { describe, expect, it } from 'vitest';
import { createChainWalker, linkHolds } from './chain.ts';
import { chainHash, GENESIS_HASH } from './identity.ts';

describe('the chain walker', () => {
  const events = ['{"b":1,"a":2}', '{"a":1}', 'not json'];
  it('walks the chain from the genesis hash as chainHash does, over the canonical text', () => {
    const w = createChainWalker();
    expect(w.head).toBe(GENESIS_HASH);
    let expected = GENESIS_HASH;
    for (const e of events) {
      expected = chainHash(expected, e);
      expect(w.step(e)).toBe(expected);
    }
    expect(w.head).toBe(expected);
    // Key order does not change the hash: it is taken over canonical JSON.
    expect(createChainWalker().step('{"a":2,"b":1}')).toBe(createChainWalker().step(events[0]!));
  });
  it('checks one link against the hash before it', () => {
    const first = createChainWalker().step(events[0]!);
    const second = createChainWalker(first).step(events[1]!);
    expect(linkHolds(null, events[0]!, first)).toBe(true);
    expect(linkHolds(first, events[1]!, second)).toBe(true);
    expect(linkHolds(first, events[2]!, second)).toBe(false);
    expect(linkHolds(GENESIS_HASH, events[1]!, second)).toBe(false);
  });
});
