import { describe, expect, it } from 'vitest';
import {
  ClosedConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/nats-core';
import { JetStreamApiError } from '@nats-io/jetstream';
import { UnavailableError } from '../errors.ts';
import { isNatsUnavailable, loggedError } from './problem.ts';

// The errors nats.js throws, made by nats.js itself: the check goes by their names and fields.
describe('isNatsUnavailable', () => {
  it.each([
    ['a request timeout', new TimeoutError()],
    [
      'no responders, as the cause of a request error',
      new RequestError('no responders', { cause: new NoRespondersError('$JS.API.DIRECT.GET.S') }),
    ],
    ['a request on a reconnecting connection', new RequestError('connection disconnected')],
    ['a closed connection', new ClosedConnectionError()],
    ['a draining connection', new DrainingConnectionError()],
    [
      'a JetStream API 503',
      new JetStreamApiError({ code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' }),
    ],
    [
      'a stream without a leader',
      new JetStreamApiError({ code: 500, err_code: 10000, description: 'stream leader not available' }),
    ],
    ['any of them as a cause', new Error('the token store is unavailable', { cause: new TimeoutError() })],
  ])('%s: yes', (_name, err) => expect(isNatsUnavailable(err)).toBe(true));

  it.each([
    [
      'a stream that does not exist',
      new JetStreamApiError({ code: 404, err_code: 10059, description: 'stream not found' }),
    ],
    [
      'a wrong expected last seq',
      new JetStreamApiError({ code: 400, err_code: 10071, description: 'wrong last sequence: 3' }),
    ],
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'seq')")],
    ['a bad JSON entry', new SyntaxError('Unexpected token')],
    ['not an error', 'timeout'],
  ])('%s: no', (_name, err) => expect(isNatsUnavailable(err)).toBe(false));
});

describe('loggedError', () => {
  it("logs a bound of the service's own by its message, without the stack", () => {
    const err = new UnavailableError('too many reads of history in flight', 1);
    expect(loggedError(err)).toEqual({ type: 'UnavailableError', message: 'too many reads of history in flight' });
  });

  it("logs a dependency's failure whole, the one behind an UnavailableError too", () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(loggedError(refused)).toBe(refused);
    const wrapped = new UnavailableError('the token store is unavailable', 2, new TimeoutError());
    expect(loggedError(wrapped)).toBe(wrapped);
  });
});
