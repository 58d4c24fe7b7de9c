import { isUtf8 } from 'node:buffer';
import { UnsupportedMediaTypeError, ValidationError } from '../errors.ts';

/**
 * Keys that name JavaScript's object machinery. JSON.parse makes them plain own properties, but
 * code that copies or merges such an object (`{ ...a }`, `Object.assign`, a deep merge) can turn
 * `__proto__` into a prototype; no field of the contract has these names, so they are refused
 * wherever they appear.
 */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** How deep objects and arrays may nest (a report nests four levels); deeper is refused. */
export const MAX_JSON_DEPTH = 64;

const BOM = [0xef, 0xbb, 0xbf] as const;

/** The charset parameter of a Content-Type header, lower-cased and unquoted, if it has one. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const m = contentType === undefined ? null : /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType);
  return m ? m[1]!.toLowerCase() : undefined;
}

/**
 * The offset of the first byte that is not well-formed UTF-8 (an overlong form, a surrogate, a
 * code point past U+10FFFF, a stray or missing continuation byte), or -1. Only for naming the
 * place in an error: `isUtf8` is the fast check.
 */
export function firstInvalidUtf8Byte(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i += 1;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0 || i + n >= b.length) return i;
    for (let k = 1; k <= n; k += 1) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    const c1 = b[i + 1]!;
    if (
      (c === 0xe0 && c1 < 0xa0) ||
      (c === 0xed && c1 > 0x9f) ||
      (c === 0xf0 && c1 < 0x90) ||
      (c === 0xf4 && c1 > 0x8f)
    )
      return i;
    i += n + 1;
  }
  return -1;
}

function pointerOf(segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** Where the string that starts (with its quote) at `start` ends (its closing quote). */
function stringEnd(text: string, start: number): number {
  let j = start;
  for (;;) {
    j = text.indexOf('"', j + 1);
    if (j < 0) return text.length;
    let k = j - 1;
    while (text.charCodeAt(k) === 0x5c) k -= 1;
    // An even run of backslashes before the quote escapes only itself.
    if ((j - 1 - k) % 2 === 0) return j;
  }
}

interface Frame {
  /** The keys seen so far; undefined for an array. */
  keys: Set<string> | undefined;
  /** The key (object) or index (array) of the value being read. */
  at: string | number;
}

function pathOf(stack: readonly Frame[], last?: string): string {
  const segments = stack.map((f) => f.at);
  if (last !== undefined) segments[segments.length - 1] = last;
  return pointerOf(segments);
}

/**
 * Walks the text of a document that JSON.parse accepted and names the first key problem: a key
 * twice in one object (JSON.parse keeps the last, silently), a key of FORBIDDEN_KEYS, or nesting
 * deeper than MAX_JSON_DEPTH. Keys are compared decoded, so `"a"` and `"\u0061"` are one key. A
 * set of keys per object: run only when the fast check (keysLookSound) found something.
 */
export function findKeyProblem(text: string): ValidationError | undefined {
  const stack: Frame[] = [];
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const end = stringEnd(text, i);
      if (expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        const top = stack[stack.length - 1]!;
        if (FORBIDDEN_KEYS.has(key)) {
          const path = pathOf(stack, key);
          return new ValidationError(`the body has a key "${key}" at ${path}; no field may be named so`, [
            { path, message: `the key ${key} is not allowed` },
          ]);
        }
        if (top.keys!.has(key)) {
          const path = pathOf(stack, key);
          return new ValidationError(
            `the body has the key "${key}" twice at ${path}; which one counts would be a guess`,
            [{ path, message: 'duplicate key' }],
          );
        }
        top.keys!.add(key);
        top.at = key;
        expectKey = false;
      }
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      if (stack.length >= MAX_JSON_DEPTH) {
        const path = pathOf(stack) || '/';
        return new ValidationError(`the body nests deeper than ${MAX_JSON_DEPTH} levels (at ${path})`, [
          { path, message: `nested deeper than ${MAX_JSON_DEPTH} levels` },
        ]);
      }
      stack.push(c === 0x7b ? { keys: new Set(), at: '' } : { keys: undefined, at: 0 });
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1]!;
      if (top.keys) expectKey = true;
      else top.at = (top.at as number) + 1;
    }
  }
  return undefined;
}

/**
 * How many keys the UTF-8 bytes of a JSON document write (in every object), or -1 when it nests
 * deeper than MAX_JSON_DEPTH: outside strings, a colon follows each key and nothing else. Bytes,
 * not the decoded text: the ASCII bytes looked for never occur inside a multi-byte sequence, and a
 * typed array is read about 30 % faster than a string's char codes (decisions/0017).
 */
function writtenKeyCount(b: Uint8Array): number {
  let count = 0;
  let depth = 0;
  const n = b.length;
  for (let i = 0; i < n; i += 1) {
    const c = b[i]!;
    if (c === 0x22) {
      for (;;) {
        i += 1;
        const d = b[i];
        if (d === 0x22 || d === undefined) break;
        if (d === 0x5c) i += 1;
      }
    } else if (c === 0x3a) {
      count += 1;
    } else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > MAX_JSON_DEPTH) return -1;
    } else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
    }
  }
  return count;
}

/** How many own keys the objects of a parsed value have in all, or -1 at a key of FORBIDDEN_KEYS. */
function parsedKeyCount(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  let n = 0;
  if (Array.isArray(v)) {
    for (const item of v) {
      const m = parsedKeyCount(item);
      if (m < 0) return m;
      n += m;
    }
    return n;
  }
  // JSON.parse makes `__proto__` an own, enumerable key: for-in sees it.
  for (const k in v) {
    if (FORBIDDEN_KEYS.has(k)) return -1;
    const m = parsedKeyCount((v as Record<string, unknown>)[k]);
    if (m < 0) return m;
    n += m + 1;
  }
  return n;
}

/**
 * Whether `value`, parsed from the UTF-8 `bytes`, is free of duplicate keys, keys of
 * FORBIDDEN_KEYS and nesting deeper than MAX_JSON_DEPTH: the keys the bytes write are counted and
 * compared with the keys the parsed value has (a duplicate makes one fewer), and the walk that
 * counts them looks for the forbidden names. Exactly when findKeyProblem finds nothing.
 */
export function keysLookSound(bytes: Uint8Array, value: unknown): boolean {
  const written = writtenKeyCount(bytes);
  return written >= 0 && written === parsedKeyCount(value);
}

/**
 * Refuses what JSON.parse lets through in `value`, parsed from `text`: duplicate keys, the keys of
 * FORBIDDEN_KEYS, nesting deeper than MAX_JSON_DEPTH. The fast check (keysLookSound) passes a
 * sound body; only when it does not does findKeyProblem, a set of keys per object, decide and name
 * where (docs/decisions/0017-strict-json-body.md).
 */
export function checkJsonKeys(text: string, value: unknown, bytes: Uint8Array = Buffer.from(text)): void {
  if (keysLookSound(bytes, value)) return;
  const problem = findKeyProblem(text);
  if (problem) throw problem;
}

/**
 * The one JSON body parser of both services: UTF-8 only (a declared charset other than UTF-8 is
 * 415; bytes that are not UTF-8 are 400, never replaced), a leading byte order mark ignored,
 * then JSON.parse and checkJsonKeys. Every refusal names where it is.
 */
export function parseJsonBody(body: Buffer, contentType: string | undefined): unknown {
  const charset = charsetOf(contentType);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new UnsupportedMediaTypeError(`the body must be JSON in UTF-8; charset=${charset} is not read`, [
      { path: 'headers:/content-type', message: `charset ${charset} is not supported; use utf-8` },
    ]);
  }
  const bytes = body[0] === BOM[0] && body[1] === BOM[1] && body[2] === BOM[2] ? body.subarray(3) : body;
  if (bytes.length === 0) {
    throw new ValidationError('the body is empty; a JSON object is expected', [{ path: '/', message: 'empty body' }]);
  }
  if (!isUtf8(bytes)) {
    const at = firstInvalidUtf8Byte(bytes);
    throw new ValidationError(`the body is not valid UTF-8: byte ${at} (0x${bytes[at]!.toString(16)}) is not`, [
      { path: '/', message: `invalid UTF-8 at byte ${at}` },
    ]);
  }
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const detail = (err as Error).message;
    throw new ValidationError(`the body is not valid JSON: ${detail}`, [{ path: '/', message: 'not valid JSON' }]);
  }
  checkJsonKeys(text, value, bytes);
  return value;
}
