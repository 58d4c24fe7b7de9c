import { describe, expect, it } from 'vitest';
import { copyBuffer } from './copy-text.ts';

describe('copyBuffer', () => {
  it('starts a batch near the last batch size a row, but never past 4 MB after a batch of huge rows', () => {
    const columns = ['id', 'quote'] as const;
    const small = Array.from({ length: 1000 }, (_, i) => ({ id: i, quote: 'q' }));
    // A first batch of small rows: the next one starts at about its size, not at 64 KB doubled.
    expect(copyBuffer(small, columns).toString()).toBe(small.map((r) => `${r.id}\tq\n`).join(''));
    const huge = [{ id: 1, quote: 'x'.repeat(2 * 1024 * 1024) }];
    expect(copyBuffer(huge, columns).length).toBe(2 * 1024 * 1024 + 3);
    // After one row of 2 MB, 1,000 small rows would ask for 2.5 GB at that size a row.
    const after = copyBuffer(small, columns);
    expect(after.toString()).toBe(small.map((r) => `${r.id}\tq\n`).join(''));
    expect(after.buffer.byteLength).toBeLessThanOrEqual(4 * 1024 * 1024);
  });
});
