import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('logs', () => {
  it('are JSON lines with secrets redacted', () => {
    const lines: string[] = [];
    const log = createLogger('t', 'info', { write: (s: string) => void lines.push(s) });
    log.info(
      {
        req: { headers: { authorization: 'Bearer ct_secret' } },
        token: 'ct_secret2',
        authorization: 'Bearer ct_secret3',
      },
      'hello',
    );
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ name: 't', msg: 'hello', token: '[redacted]', authorization: '[redacted]' });
    expect(lines[0]).not.toContain('ct_secret');
  });
});
