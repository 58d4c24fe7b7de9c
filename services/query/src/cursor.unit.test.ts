import { describe, expect, it } from 'vitest';
import { ValidationError } from '@claimtrail/shared/errors';
import { decodeCursor, encodeCursor } from './cursor.ts';

describe('page cursors', () => {
  it('give back the position they were made from', () => {
    const h = { k: 'history', statedFrom: '2025-01-02T03:04:05.123456Z', seq: 42 } as const;
    expect(decodeCursor('history', encodeCursor(h))).toEqual(h);
    expect(decodeCursor('topics', encodeCursor({ k: 'topics', after: 'a-topic' }))).toEqual({
      k: 'topics',
      after: 'a-topic',
    });
  });

  it.each([
    ['not base64url', 'a b'],
    ['not JSON', Buffer.from('{').toString('base64url')],
    ['another endpoint’s', encodeCursor({ k: 'topics', after: 'x' })],
    [
      'a forged position',
      Buffer.from(JSON.stringify({ k: 'history', statedFrom: "1'; drop", seq: 1 })).toString('base64url'),
    ],
    [
      'extra fields',
      Buffer.from(JSON.stringify({ k: 'history', statedFrom: '2025-01-02T03:04:05.000000Z', seq: 1, x: 1 })).toString(
        'base64url',
      ),
    ],
  ])('refuse %s cursor as a 400 naming query:/cursor', (_what, cursor) => {
    let err: unknown;
    try {
      decodeCursor('history', cursor);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).details).toEqual([{ path: 'query:/cursor', message: 'invalid cursor' }]);
  });

  it("name a source's page within a series or at a series' start, and refuse a sources cursor for a source", () => {
    const within = {
      k: 'source',
      topic: 't',
      metric: 'killed',
      statedFrom: '2025-01-02T00:00:00.000000Z',
      seq: 7,
    } as const;
    expect(decodeCursor('source', encodeCursor(within))).toEqual(within);
    const start = { k: 'source', topic: 't', metric: 'killed' } as const;
    expect(decodeCursor('source', encodeCursor(start))).toEqual(start);
    expect(decodeCursor('sources', encodeCursor({ k: 'sources', after: 'kr-nis' }))).toEqual({
      k: 'sources',
      after: 'kr-nis',
    });
    expect(() => decodeCursor('source', encodeCursor({ k: 'sources', after: 'kr-nis' }))).toThrow(ValidationError);
  });
});
