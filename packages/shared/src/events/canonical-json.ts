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
  if (value === null) return 'null';
  if (typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let s = '[';
    for (let i = 0; i < value.length; i += 1) {
      const v: unknown = value[i];
      s += (i > 0 ? ',' : '') + (v === undefined ? 'null' : canonicalJson(v));
    }
    return `${s}]`;
  }
  const o = value as Record<string, unknown>;
  let s = '{';
  let first = true;
  for (const k of Object.keys(o).sort()) {
    const v = o[k];
    if (v === undefined) continue;
    s += `${first ? '' : ','}${JSON.stringify(k)}:${canonicalJson(v)}`;
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
  for (const k of Object.keys(value)) {
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
