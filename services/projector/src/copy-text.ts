/**
 * Rows in COPY's text format: one line a row, columns separated by tabs, NULL as `\N`, and in
 * every value backslash, newline, carriage return and tab written as backslash escapes. Objects
 * and arrays (the jsonb columns) are written as their JSON text; numbers as JavaScript prints them
 * (numeric and bigint columns read that form); booleans as t/f; strings (text, uuid, timestamptz
 * in ISO form) as they are.
 */
export function copyText<R extends object>(rows: readonly R[], columns: readonly (keyof R & string)[]): string {
  let out = '';
  for (const row of rows) {
    let line = '';
    for (let i = 0; i < columns.length; i += 1) {
      if (i > 0) line += '\t';
      line += copyField(row[columns[i]!]);
    }
    out += `${line}\n`;
  }
  return out;
}

const SPECIAL = /[\\\n\r\t]/;
const SPECIALS = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIALS, (c) => ESCAPES[c]!) : s;
}

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
