/**
 * Rows in COPY's text format, as UTF-8 bytes: one line a row, columns separated by tabs, NULL as
 * `\N`, and in every value backslash, newline, carriage return and tab written as backslash
 * escapes. Objects and arrays (the jsonb columns) are written as their JSON text; numbers as
 * JavaScript prints them (numeric and bigint columns read that form); booleans as t/f; strings
 * (text, uuid, timestamptz in ISO form) as they are.
 *
 * Each field is written straight into one growing buffer: short ASCII fields (ids, instants,
 * numbers) byte by byte, longer ones with one UTF-8 write. Building each row as a string first
 * and encoding the row made two strings of every row's size, about 5 KB of garbage an event
 * across the five tables: 30 % of all the projector allocated during a catch-up, and so of how
 * often its young generation was collected (each collection copying the batches in flight).
 * Field by field costs a little more CPU a row and the catch-up less
 * (docs/decisions/0001-copy-for-batch-writes.md).
 */
export function copyBuffer<R extends object>(rows: readonly R[], columns: readonly (keyof R & string)[]): Buffer {
  const w = new CopyWriter(Math.min(rows.length * (bytesPerRow.get(columns) ?? 0), MAX_START_BYTES));
  for (const row of rows) {
    for (let i = 0; i < columns.length; i += 1) {
      if (i > 0) w.byte(TAB);
      w.field(row[columns[i]!]);
    }
    w.byte(NEWLINE);
  }
  const out = w.bytes();
  if (rows.length > 0) bytesPerRow.set(columns, Math.ceil((out.length / rows.length) * 1.25));
  return out;
}

/**
 * The bytes a row of each column list took last time, with a margin: the buffer starts at about
 * its final size, where growing it from 64 KB by doubling copied a 1,000-row batch's ledger rows
 * four times over.
 */
const bytesPerRow = new WeakMap<readonly string[], number>();
/**
 * The most a buffer starts at (a batch's ledger is about 1 MB): one batch of a few very large rows
 * (a quote can be most of a 1 MiB report) must not make the next batch start at a gigabyte.
 */
const MAX_START_BYTES = 4 * 1024 * 1024;

const TAB = 9;
const NEWLINE = 10;
const RETURN = 13;
const BACKSLASH = 92;
/** Fields up to this long are tried byte by byte (a native UTF-8 write has a fixed cost a call). */
const SHORT = 48;

const SPECIAL = /[\\\n\r\t]/;
const SPECIALS = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIALS, (c) => ESCAPES[c]!) : s;
}

class CopyWriter {
  private buf: Buffer;
  private used = 0;

  constructor(sizeHint = 0) {
    this.buf = Buffer.allocUnsafe(Math.max(64 * 1024, sizeHint));
  }

  private room(n: number): void {
    if (this.used + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.used + n, this.buf.length * 2));
    this.buf.copy(bigger, 0, 0, this.used);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.used++] = b;
  }

  /** A string as it is, escaped. */
  text(s: string): void {
    const n = s.length;
    // A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair, two units, is 4).
    this.room(n * 3);
    if (n <= SHORT) {
      const buf = this.buf;
      const at = this.used;
      let i = 0;
      for (; i < n; i += 1) {
        const c = s.charCodeAt(i);
        if (c >= 0x80 || c === BACKSLASH || c === NEWLINE || c === RETURN || c === TAB) break;
        buf[at + i] = c;
      }
      if (i === n) {
        this.used += n;
        return;
      }
    }
    const t = escape(s);
    if (t.length !== n) this.room(t.length * 3);
    this.used += this.buf.write(t, this.used, 'utf8');
  }

  field(v: unknown): void {
    if (v === null || v === undefined) {
      this.byte(BACKSLASH);
      this.byte(78); // N
      return;
    }
    switch (typeof v) {
      case 'string':
        return this.text(v);
      case 'number':
        if (!Number.isFinite(v)) throw new RangeError(`cannot COPY the number ${v}`);
        return this.text(String(v));
      case 'boolean':
        return this.byte(v ? 116 : 102); // t, f
      case 'object':
        return this.text(JSON.stringify(v));
      default:
        throw new TypeError(`cannot COPY a ${typeof v}`);
    }
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.used);
  }
}

/** One field in COPY's text format, as copyBuffer writes it (the definition its tests hold it to). */
export function copyField(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  switch (typeof v) {
    case 'string':
      return escape(v);
    case 'number':
      if (!Number.isFinite(v)) throw new RangeError(`cannot COPY the number ${v}`);
      return String(v);
    case 'boolean':
      return v ? 't' : 'f';
    case 'object':
      return escape(JSON.stringify(v));
    default:
      throw new TypeError(`cannot COPY a ${typeof v}`);
  }
}
