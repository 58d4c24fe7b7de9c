import { describe, expect, it } from 'vitest';
import { AUTO_MAX_PROCESSES, ingestProcessCount } from './cluster.ts';

describe('ingestProcessCount', () => {
  it('auto: one process a core, at least one and at most AUTO_MAX_PROCESSES', () => {
    expect(ingestProcessCount('auto', 1)).toBe(1);
    expect(ingestProcessCount('auto', 2)).toBe(2);
    expect(ingestProcessCount('auto', 3)).toBe(3);
    expect(ingestProcessCount('auto', 64)).toBe(AUTO_MAX_PROCESSES);
    expect(ingestProcessCount('auto', 0)).toBe(1);
  });

  it('a number is taken as it is, whatever the cores', () => {
    expect(ingestProcessCount(1, 8)).toBe(1);
    expect(ingestProcessCount(6, 2)).toBe(6);
  });
});
