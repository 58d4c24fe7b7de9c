import { z } from 'zod';

export type DatePrecision = 'year' | 'month' | 'day' | 'instant';

/** A date as stated, with its precision and the half-open interval `[from, to)` it covers. */
export interface FuzzyDate {
  text: string;
  precision: DatePrecision;
  /** ISO instant, inclusive. */
  from: string;
  /** ISO instant, exclusive (equal to `from` for an instant). */
  to: string;
}

const YEAR = /^(\d{4})$/;
const MONTH = /^(\d{4})-(\d{2})$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Midnight UTC of a day, month or day may overflow (month 13 is January of the next year).
 * `Date.UTC` would read years 0-99 as 1900-1999; `setUTCFullYear` does not.
 */
function utc(y: number, m: number, d: number): Date {
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d);
  return t;
}
function iso(y: number, m: number, d: number): string {
  return utc(y, m, d).toISOString();
}

/**
 * The date domain: every instant a date covers lies in years 0001 to 9999 once its offset is
 * applied. Postgres refuses year 0, and JavaScript writes year 10000 as `+010000`, which Postgres
 * cannot read; a date outside would pass validation and then halt the projector.
 */
const EARLIEST = utc(1, 1, 1).getTime();
const END = utc(10000, 1, 1).getTime();
/** The exclusive end of a date's interval lies within the domain. */
function inDomain(fromMs: number, toMs: number): boolean {
  return fromMs >= EARLIEST && toMs < END;
}
/** What a date outside the domain is told. */
export const DATE_DOMAIN_MESSAGE = 'must lie within the years 0001 to 9999 (after its offset is applied)';

/**
 * Dates of day precision or coarser, parsed before: events repeat a small set of them (every
 * claim has three), and `Date` arithmetic was half of an event's validation. Bounded: cleared
 * when full.
 */
const coarse = new Map<string, FuzzyDate | undefined>();
const COARSE_MAX = 10_000;
/**
 * Instants parsed lately. Across a stream they are nearly all distinct, but every event of one
 * report has the report's recordedAt: a 10-claim report's 11 events parse it once, where parsing
 * each was 3 % of the projector's CPU profile. Small, and cleared when full.
 */
const instants = new Map<string, FuzzyDate | undefined>();
const INSTANTS_MAX = 256;

/** `parse(input)` from `cache`, or parsed and kept there (the cache is cleared when it holds `max`). */
function cached(
  cache: Map<string, FuzzyDate | undefined>,
  max: number,
  input: string,
  parse: (s: string) => FuzzyDate | undefined,
): FuzzyDate | undefined {
  if (cache.has(input)) return cache.get(input);
  const d = parse(input);
  if (cache.size >= max) cache.clear();
  cache.set(input, d);
  return d;
}

/** Parses `YYYY`, `YYYY-MM`, `YYYY-MM-DD` or an RFC 3339 date-time with offset; undefined if invalid. The result is frozen. */
export function parseFuzzyDate(input: string): FuzzyDate | undefined {
  return input.length > 10
    ? cached(instants, INSTANTS_MAX, input, parseInstant)
    : cached(coarse, COARSE_MAX, input, parseCoarse);
}

function parseCoarse(input: string): FuzzyDate | undefined {
  let m = YEAR.exec(input);
  if (m) {
    const y = Number(m[1]);
    if (!inDomain(utc(y, 1, 1).getTime(), utc(y + 1, 1, 1).getTime())) return undefined;
    return Object.freeze({ text: input, precision: 'year', from: iso(y, 1, 1), to: iso(y + 1, 1, 1) });
  }
  m = MONTH.exec(input);
  if (m) {
    const y = Number(m[1]);
    const mo = Number(m[2]);
    if (mo < 1 || mo > 12 || !inDomain(utc(y, mo, 1).getTime(), utc(y, mo + 1, 1).getTime())) return undefined;
    return Object.freeze({ text: input, precision: 'month', from: iso(y, mo, 1), to: iso(y, mo + 1, 1) });
  }
  m = DAY.exec(input);
  if (m) {
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    const date = utc(y, mo, d);
    if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return undefined;
    if (!inDomain(date.getTime(), utc(y, mo, d + 1).getTime())) return undefined;
    return Object.freeze({ text: input, precision: 'day', from: date.toISOString(), to: iso(y, mo, d + 1) });
  }
  return undefined;
}

function parseInstant(input: string): FuzzyDate | undefined {
  const m = INSTANT.exec(input);
  if (!m) return undefined;
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60)
    return undefined;
  const t = Date.parse(input);
  if (Number.isNaN(t) || !inDomain(t, t)) return undefined;
  const dayCheck = utc(Number(m[1]), mo, d);
  if (dayCheck.getUTCDate() !== d) return undefined;
  const at = new Date(t).toISOString();
  return Object.freeze({ text: input, precision: 'instant', from: at, to: at });
}

/** zod schema for a stated date; keeps the text as given. */
export const fuzzyDate = z
  .string()
  .max(40)
  .refine((s) => parseFuzzyDate(s) !== undefined, {
    message: `must be YYYY, YYYY-MM, YYYY-MM-DD or an RFC 3339 date-time with offset, and ${DATE_DOMAIN_MESSAGE.replace('must ', '')}`,
  });

/** RFC 3339 date-time with offset, as an instant. */
export const instant = z
  .string()
  .max(40)
  .refine((s) => parseFuzzyDate(s)?.precision === 'instant', {
    message: `must be an RFC 3339 date-time with offset, and ${DATE_DOMAIN_MESSAGE.replace('must ', '')}`,
  });

/** Parses a date that zod has already validated. */
export function mustParseFuzzyDate(input: string): FuzzyDate {
  const d = parseFuzzyDate(input);
  if (!d) throw new RangeError(`invalid date: ${input}`);
  return d;
}
