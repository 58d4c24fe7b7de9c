import { describe, expect, it } from 'vitest';
import { takeEvents } from './event-stream.js';

describe('takeEvents', () => {
  it('takes the events that are complete and keeps the unfinished tail', () => {
    const { events, rest } = takeEvents('retry: 2000\n\nevent: seq\ndata: {"asOfSeq":17}\n\nevent: seq\ndata: {"as');
    expect(events).toEqual([{ event: 'seq', data: '{"asOfSeq":17}' }]);
    expect(rest).toBe('event: seq\ndata: {"as');
    expect(takeEvents(`${rest}OfSeq":18}\n\n`)).toEqual({
      events: [{ event: 'seq', data: '{"asOfSeq":18}' }],
      rest: '',
    });
  });

  it('passes over keep-alive comments, and joins data lines', () => {
    expect(takeEvents(': keep-alive\n\ndata: a\ndata: b\n\n')).toEqual({
      events: [{ event: 'message', data: 'a\nb' }],
      rest: '',
    });
  });

  it('takes an event split at any byte, once', () => {
    const stream = ': keep-alive\n\nevent: seq\ndata: {"asOfSeq":3}\n\nevent: seq\ndata: {"asOfSeq":4}\n\n';
    for (let cut = 0; cut <= stream.length; cut++) {
      const first = takeEvents(stream.slice(0, cut));
      const second = takeEvents(first.rest + stream.slice(cut));
      expect([...first.events, ...second.events].map((e) => e.data)).toEqual(['{"asOfSeq":3}', '{"asOfSeq":4}']);
      expect(second.rest).toBe('');
    }
  });
});
