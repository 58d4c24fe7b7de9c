/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no white space, `undefined` members
 * dropped. Two structurally equal values always give the same text, so hashes of it are stable.
 *
 * A value (or any part of one) that JSON.stringify already writes canonically, plain objects with
 * their keys in sorted order and nothing but strings, finite numbers, booleans, null and such
 * values inside, is written by JSON.stringify in one native call: ingest builds its events that
 * way, and building their text key by key here took 7 % of its CPU.
 */
export function canonicalJson(value: unknown): string {
  if (stringifiesCanonically(value)) return JSON.stringify(value);
  const sorted = sortedCopy(value);
  return sorted === INDEX_KEYS ? canonicalJsonByParts(value) : JSON.stringify(sorted);
}

/** What `sortedCopy` gives for a value with an object that has array-index keys anywhere in it. */
const INDEX_KEYS = Symbol('index keys');

/** True for keys that objects order numerically before all others ("0", "2", "10"; not "01"). */
function isArrayIndex(k: string): boolean {
  const c = k.charCodeAt(0);
  if (c < 48 || c > 57 || (c === 48 && k.length > 1)) return false;
  for (let i = 1; i < k.length; i += 1) {
    const d = k.charCodeAt(i);
    if (d < 48 || d > 57) return false;
  }
  return Number(k) < 4294967295;
}

/**
 * `value` with every object's keys in sorted order (undefined members dropped, objects of other
 * prototypes as plain objects of their own keys), sharing each part that already is so, for one
 * JSON.stringify to write canonically: a third of the time of writing it key by key (a report of
 * ten claims, as ingest hashes it: 14 against 49 µs). An object whose keys include array indices
 * cannot be rebuilt in sorted order (objects put those first, numerically): INDEX_KEYS then.
 */
function sortedCopy(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number');
    return value;
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i += 1) {
      const v: unknown = value[i];
      const c = sortedCopy(v);
      if (c === INDEX_KEYS) return INDEX_KEYS;
      if (c !== v && out === undefined) out = value.slice(0, i);
      out?.push(c);
    }
    return out ?? value;
  }
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length > 0 && isArrayIndex(keys[0]!)) return INDEX_KEYS;
  const proto: unknown = Object.getPrototypeOf(o);
  let keep = proto === Object.prototype || proto === null;
  for (let i = 1; keep && i < keys.length; i += 1) keep = keys[i - 1]! < keys[i]!;
  const copies: unknown[] = [];
  for (const k of keys) {
    const v = o[k];
    const c = v === undefined ? undefined : sortedCopy(v);
    if (c === INDEX_KEYS) return INDEX_KEYS;
    if (c !== v) keep = false;
    copies.push(c);
  }
  if (keep) return o;
  const order = keys.map((_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
  const out: Record<string, unknown> = {};
  for (const i of order) if (copies[i] !== undefined) out[keys[i]!] = copies[i];
  return out;
}

/** The definition, written key by key: for values with array-index keys. */
function canonicalJsonByParts(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let s = '[';
    for (let i = 0; i < value.length; i += 1) {
      const v: unknown = value[i];
      s += (i > 0 ? ',' : '') + (v === undefined ? 'null' : canonicalJsonByParts(v));
    }
    return `${s}]`;
  }
  const o = value as Record<string, unknown>;
  let s = '{';
  let first = true;
  for (const k of Object.keys(o).sort()) {
    const v = o[k];
    if (v === undefined) continue;
    s += `${first ? '' : ','}${JSON.stringify(k)}:${canonicalJsonByParts(v)}`;
    first = false;
  }
  return `${s}}`;
}

/**
 * True when `JSON.stringify(value)` is its canonical JSON: strings, finite numbers, booleans and
 * null, in arrays and in plain objects (no prototype but Object's, so no toJSON of a class) whose
 * own keys come in strictly increasing order (which integer-like keys, ordered numerically by
 * objects, do not when they are out of string order). `undefined` is allowed where both drop it
 * (object members) or both write null (array elements); anything else (functions, symbols,
 * bigints, non-finite numbers) goes to the key-by-key path, which treats it as before.
 */
function stringifiesCanonically(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (Array.isArray(value)) {
    for (const v of value) if (v !== undefined && !stringifiesCanonically(v)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  let prev: string | undefined;
  // for…in, not Object.keys: no array of keys for every object of every payload (Object.keys was
  // 3 % of what the projector allocated). The prototype is Object's or null, so the keys are the
  // own ones, in the same order; an enumerable key added to Object.prototype would fail the
  // checks here and take the key-by-key path, which reads own keys only.
  for (const k in value) {
    if (prev !== undefined && !(prev < k)) return false;
    prev = k;
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined && !stringifiesCanonically(v)) return false;
  }
  return true;
}

/**
 * The canonical text of `parsed`, which is `JSON.parse(text)`: `text` itself when it already is
 * canonical (what ingest publishes), without building it again. Equal to `canonicalJson(parsed)`
 * always: text that serialises back to itself has no white space and numbers and strings in
 * JSON.stringify's form, and with every object's keys in sorted order that is the canonical form.
 */
export function canonicalTextOf(text: string, parsed: unknown): string {
  return stringifiesCanonically(parsed) && JSON.stringify(parsed) === text ? text : canonicalJson(parsed);
}
