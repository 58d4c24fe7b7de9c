import { describe, expect, it } from 'vitest';
import { isUtf8 } from 'node:buffer';
import { UnsupportedMediaTypeError, ValidationError } from '../errors.ts';
import {
  charsetOf,
  checkJsonKeys,
  findKeyProblem,
  firstInvalidUtf8Byte,
  keysLookSound,
  MAX_JSON_DEPTH,
  parseJsonBody,
} from './json-body.ts';

const JSON_TYPE = 'application/json';

/** The refusal parseJsonBody throws for `body`. */
function refusal(body: string | Uint8Array, contentType = JSON_TYPE): ValidationError | UnsupportedMediaTypeError {
  try {
    parseJsonBody(Buffer.from(body), contentType);
  } catch (err) {
    if (err instanceof ValidationError || err instanceof UnsupportedMediaTypeError) return err;
    throw err;
  }
  throw new Error(`accepted: ${String(body)}`);
}
const pathsOf = (body: string) => refusal(body).details?.map((d) => d.path);

/** A small seeded generator (mulberry32): the same documents at every run. */
function seeded(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('parseJsonBody: what it accepts', () => {
  it.each([
    ['a report', '{"report":{"publisher":"P","url":"https://x.example/a:b"},"claims":[{"quote":"a, {b} [c]"}]}'],
    ['escaped quotes and backslashes before a quote', '{"a":"x\\"y","b":"\\\\","c":"\\\\\\"","d":["\\\\"]}'],
    ['the same key in different objects', '{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}],"c":{"b":1}}'],
    ['empty objects and arrays between keys', '{"a":{},"b":[],"c":[{},[],{"d":[]}],"e":1}'],
    ['whitespace around keys and colons', ' {\n\t"a" : 1 ,\r\n "b":\t[ 1 , 2 ] } '],
    ['strings that look like keys', '{"a":"\\"b\\":1","c":["d", "e"]}'],
    ['a scalar', '42'],
    ['non-ASCII text', '{"title":"Ким Чен Ын — 金正恩 🇰🇵"}'],
  ])('%s', (_name, text) => {
    expect(parseJsonBody(Buffer.from(text), JSON_TYPE)).toEqual(JSON.parse(text));
  });

  it('ignores a leading byte order mark', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]);
    expect(parseJsonBody(body, JSON_TYPE)).toEqual({ a: 1 });
  });

  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'application/json; charset="utf-8"',
    'application/json; charset=utf8',
  ])('reads %s', (type) => expect(parseJsonBody(Buffer.from('{"a":1}'), type)).toEqual({ a: 1 }));

  it(`accepts nesting ${MAX_JSON_DEPTH} levels deep`, () => {
    const text = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    expect(() => parseJsonBody(Buffer.from(text), JSON_TYPE)).not.toThrow();
  });
});

describe('parseJsonBody: what it refuses, and where', () => {
  it('a duplicate key, naming its path, at any depth and behind escapes', () => {
    expect(pathsOf('{"report":{"publisher":"A","url":"u","publisher":"B"}}')).toEqual(['/report/publisher']);
    expect(pathsOf('{"a":1,"a":1}')).toEqual(['/a']);
    expect(pathsOf('{"claims":[{"q":1},{"q":1,"source":{"id":"x","id":"y"}}]}')).toEqual(['/claims/1/source/id']);
    expect(pathsOf('{"report":{"publisher":"A","\\u0070ublisher":"B"}}')).toEqual(['/report/publisher']);
    expect(pathsOf('{"a/b":{"c~d":1,"c~d":2}}')).toEqual(['/a~1b/c~0d']);
    expect(refusal('{"a":1,"a":2}').message).toMatch(/twice/);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('the key %s, naming its path', (key) => {
    expect(pathsOf(`{"report":{"${key}":{"polluted":true},"url":"u"}}`)).toEqual([`/report/${key}`]);
    expect(pathsOf(`{"claims":[{"a":1},{"${key}":1}]}`)).toEqual([`/claims/1/${key}`]);
    expect(pathsOf(`{"${key}":1}`)).toEqual([`/${key}`]);
  });

  it('the forbidden keys written with escapes', () => {
    expect(pathsOf('{"report":{"__proto\\u005f_":{}}}')).toEqual(['/report/__proto__']);
  });

  it('but not those names as values', () => {
    expect(parseJsonBody(Buffer.from('{"a":"__proto__","b":["constructor"]}'), JSON_TYPE)).toEqual({
      a: '__proto__',
      b: ['constructor'],
    });
  });

  it(`nesting deeper than ${MAX_JSON_DEPTH} levels`, () => {
    const text = `{"a":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`;
    const e = refusal(text);
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.message).toMatch(/deeper than 64/);
    expect(e.details?.[0]?.path).toMatch(/^\/a\/0\/0/);
  });

  it.each([
    ['a stray continuation byte', [0x80]],
    ['0xff', [0xff, 0xfe]],
    ['an overlong form', [0xc0, 0x80]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a sequence cut short', [0xe2, 0x82]],
  ])('invalid UTF-8 (%s), naming the byte', (_name, bad) => {
    const before = Buffer.from('{"publisher":"Fu');
    const body = Buffer.concat([before, Buffer.from(bad), Buffer.from('zz"}')]);
    const e = refusal(body);
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.message).toMatch(new RegExp(`not valid UTF-8: byte ${before.length} `));
  });

  it.each(['latin1', 'iso-8859-1', 'utf-16', 'windows-1252'])('charset=%s as 415', (charset) => {
    const e = refusal('{"a":1}', `application/json; charset=${charset}`);
    expect(e).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(e.details?.[0]?.path).toBe('headers:/content-type');
  });

  it('an empty body, and text that is not JSON', () => {
    expect(refusal('').message).toMatch(/empty/);
    expect(refusal('{"a":').message).toMatch(/not valid JSON/);
    expect(refusal(`{"report":${'['.repeat(20_000)}`).message).toMatch(/not valid JSON/);
  });
});

describe('the fast key check agrees with the exact one', () => {
  it('on 3,000 seeded documents, a third of them with a duplicate or forbidden key', () => {
    const rand = seeded(7);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const keys = ['a', 'b', 'x:y', 'ключ', 'd"q', 'e\\\\', '__proto__', 'constructor', 'prototype'];
    const value = (depth: number): string => {
      const r = rand();
      if (depth > 4 || r < 0.3)
        return pick(['1', '"s"', '"x\\"y"', 'null', '"{[,]}:"', '"\\\\"', '"\\u003a"', '"é:ü"']);
      if (r < 0.6) return `[${Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1)).join(',')}]`;
      const n = Math.floor(rand() * 4);
      const ks = Array.from({ length: n }, () => JSON.stringify(pick(keys.slice(0, rand() < 0.05 ? 9 : 6))));
      return `{${ks.map((k) => `${k}:${value(depth + 1)}`).join(',')}}`;
    };
    let refused = 0;
    for (let i = 0; i < 3000; i += 1) {
      const text = value(0);
      const parsed: unknown = JSON.parse(text);
      const exact = findKeyProblem(text);
      expect(keysLookSound(Buffer.from(text), parsed), text).toBe(exact === undefined);
      if (exact) {
        expect(() => checkJsonKeys(text, parsed)).toThrow(exact.message);
        refused += 1;
      }
    }
    expect(refused).toBeGreaterThan(300);
  });
});

describe('firstInvalidUtf8Byte', () => {
  it('is -1 exactly when isUtf8 says yes (20,000 seeded byte strings)', () => {
    const rand = seeded(11);
    const pieces = [
      [0x41],
      [0xc3, 0xa9],
      [0xe2, 0x82, 0xac],
      [0xf0, 0x9f, 0x87, 0xb0],
      [0x80],
      [0xc0],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90],
      [0xff],
      [0xe0, 0x80, 0x80],
    ];
    for (let i = 0; i < 20_000; i += 1) {
      const bytes = Uint8Array.from(
        Array.from(
          { length: 1 + Math.floor(rand() * 6) },
          () => pieces[Math.floor(rand() * (rand() < 0.7 ? 4 : 10))]!,
        ).flat(),
      );
      expect(firstInvalidUtf8Byte(bytes) === -1, Buffer.from(bytes).toString('hex')).toBe(isUtf8(bytes));
    }
  });
});

describe('charsetOf', () => {
  it('reads the parameter, unquoted and lower-cased', () => {
    expect(charsetOf('application/json; Charset="ISO-8859-1"')).toBe('iso-8859-1');
    expect(charsetOf('application/json')).toBeUndefined();
    expect(charsetOf(undefined)).toBeUndefined();
  });
});
