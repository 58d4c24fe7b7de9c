import { describe, expect, it } from 'vitest';
import { projectorHeapFlags } from '../../services/projector/src/heap.ts';
import { gcSummary, parseVariant } from './ab-variants.ts';

describe('bench:ab variants', () => {
  it('starts every variant from the projector heap flags and adds its own after them', () => {
    expect(parseVariant('base=', false)).toEqual({ name: 'base', nodeArgs: [...projectorHeapFlags], env: {} });
    const v = parseVariant('semi32=--max-semi-space-size=32 env:CLAIMTRAIL_BATCH_SIZE=500', true);
    expect(v.name).toBe('semi32');
    expect(v.nodeArgs).toEqual([...projectorHeapFlags, '--trace-gc-nvp', '--max-semi-space-size=32']);
    expect(v.env).toEqual({ CLAIMTRAIL_BATCH_SIZE: '500' });
  });

  it('names what it cannot read', () => {
    expect(() => parseVariant('--max-semi-space-size=32', false)).toThrow(/expected <name>=<flags>/);
    expect(() => parseVariant('x=semi', false)).toThrow(/"semi" is neither a --flag nor env:NAME=value/);
    expect(() => parseVariant('x=env:1A=2', false)).toThrow(/neither/);
    expect(() => parseVariant('foo', false)).toThrow(/expected <name>=<flags>/);
  });

  it('sums what --trace-gc-nvp printed', () => {
    const out = [
      '{"msg":"projector started"}',
      '[1:0x1:0]  94 ms: pause=0.7 mutator=86.9 gc=s reduce_memory=0 promoted=2000000 new_space_survived=3000000',
      '[1:0x1:0] 120 ms: pause=1.0 mutator=18.8 gc=s reduce_memory=0 promoted=1000000 new_space_survived=1000000',
      '[1:0x1:0] 400 ms: pause=9.0 mutator=200 gc=mc reduce_memory=0 end_object_size=40000000',
      '[1:0x1:0] 900 ms: pause=9.0 mutator=200 gc=mc reduce_memory=0 end_object_size=44000000',
    ].join('\n');
    expect(gcSummary(out)).toBe('scavenges 2 (promoted 3 MB, survived 4 MB), mark-compacts 2 (live after 42 MB)');
    expect(gcSummary('')).toBe('scavenges 0 (promoted 0 MB, survived 0 MB), mark-compacts 0 (live after - MB)');
  });
});
