import { hash, randomBytes } from 'node:crypto';
import { canonicalJson, canonicalTextOf } from './events/canonical-json.ts';
import { mustParseFuzzyDate, type FuzzyDate } from './events/dates.ts';
import type { ClaimValue } from './events/values.ts';

/** SHA-256 in hex. The one-shot `crypto.hash` takes 60 % of the time of a `createHash` object. */
export function sha256Hex(input: string | Uint8Array): string {
  return hash('sha256', input, 'hex');
}

/**
 * The identity of an estimate: the same source stating the same figure about the same metric of
 * the same topic at the same (normalised) time, for the same (normalised) period. Reports that
 * repeat it cite the same claim. `validFrom`/`validTo` default to `statedAt`; a claim whose period
 * is the default one has the identity it had before the period counted, so claims recorded then
 * keep their ids and are still found as echoes.
 */
export function claimIdentity(c: {
  topic: string;
  metric: string;
  sourceId: string;
  statedAt: string;
  validFrom?: string | undefined;
  validTo?: string | undefined;
  value: ClaimValue;
}): string {
  const stated = mustParseFuzzyDate(c.statedAt);
  const point = (d: FuzzyDate) => ({ from: d.from, precision: d.precision });
  const from = mustParseFuzzyDate(c.validFrom ?? c.statedAt);
  const to = mustParseFuzzyDate(c.validTo ?? c.statedAt);
  const isStated = (d: FuzzyDate) => d.from === stated.from && d.precision === stated.precision;
  const valid = isStated(from) && isStated(to) ? undefined : { from: point(from), to: point(to) };
  // Keys in sorted order, so that canonicalJson writes it with one JSON.stringify.
  return canonicalJson({
    metric: c.metric,
    source: c.sourceId,
    statedAt: point(stated),
    topic: c.topic,
    ...(valid === undefined ? {} : { valid }),
    value: c.value,
  });
}

export type ClaimIdentityFields = Parameters<typeof claimIdentity>[0];

/** The identity fields of a claim as recorded (a ClaimRecorded's data, or anything shaped like it). */
export function identityFieldsOf<T extends ClaimIdentityFields>(d: T): Pick<T, keyof ClaimIdentityFields> {
  return {
    topic: d.topic,
    metric: d.metric,
    sourceId: d.sourceId,
    statedAt: d.statedAt,
    validFrom: d.validFrom,
    validTo: d.validTo,
    value: d.value,
  };
}

/** The identity fields a correction changes (its value, dates, metric and source), changed. */
export function correctedIdentity<T extends ClaimIdentityFields>(
  f: T,
  c: {
    value?: ClaimValue | undefined;
    statedAt?: string | undefined;
    validFrom?: string | undefined;
    validTo?: string | undefined;
    metric?: string | undefined;
    source?: { id: string } | undefined;
  },
): T {
  return {
    ...f,
    metric: c.metric ?? f.metric,
    sourceId: c.source?.id ?? f.sourceId,
    statedAt: c.statedAt ?? f.statedAt,
    validFrom: c.validFrom ?? f.validFrom,
    validTo: c.validTo ?? f.validTo,
    value: c.value ?? f.value,
  };
}

/**
 * The id a claim with this identity gets: its natural id (`k` 0), or, when claims that had the
 * identity were corrected away from it, the k-th id after it (identity-index.ts).
 */
export function claimIdOf(c: ClaimIdentityFields, k = 0): string {
  const identity = claimIdentity(c);
  return `clm_${sha256Hex(k === 0 ? `claim\n${identity}` : `claim\n${identity}\n#${k}`).slice(0, 24)}`;
}

/** The idempotency key of a request: the client's header, or the hash of its canonical body. */
export function idempotencyKeyOf(header: string | undefined, body: unknown): string {
  return header !== undefined ? `key:${header}` : `body:${sha256Hex(canonicalJson(body))}`;
}

export function bodyHashOf(body: unknown): string {
  return sha256Hex(canonicalJson(body));
}

export function reportIdOf(idempotencyKey: string): string {
  return `rpt_${sha256Hex(`report\n${idempotencyKey}`).slice(0, 24)}`;
}

/** The JetStream `msgID` of the n-th event a request publishes. */
export function messageIdOf(scope: string, idempotencyKey: string, index: number): string {
  return sha256Hex(`msg\n${scope}\n${idempotencyKey}\n${index}`);
}

/**
 * A UUIDv7 whose 48-bit time is `ms` and whose random bits come from `seed` when given, so a
 * retried request rebuilds exactly the events of its first attempt.
 */
export function uuidv7(ms: number, seed?: string): string {
  if (!Number.isInteger(ms) || ms < 0 || ms >= 2 ** 48)
    throw new RangeError(`uuidv7: time ${ms} is not a 48-bit ms count`);
  const t = ms.toString(16).padStart(12, '0');
  // The random bits: the first 16 bytes of sha256(seed), or random ones, in hex. The time takes
  // bytes 0-5, the version nibble 7 the high half of byte 6, the variant bits 10 the top of
  // byte 8. Written from the hex digest: a 'buffer' digest allocated a buffer of its own for
  // each event (ingest makes one a claim), at twice the time of the hex digest.
  const h = seed === undefined ? randomBytes(16).toString('hex') : hash('sha256', seed, 'hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The canonical text of a stored event: canonical JSON when it parses, the raw text when not. */
export function canonicalEventText(payload: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return payload;
  }
  return canonicalTextOf(payload, parsed);
}

/** `chain_hash = sha256(prev_chain_hash ‖ canonical event)`. */
export function chainHash(prevHex: string, payload: string): string {
  return chainHashOfCanonical(prevHex, canonicalEventText(payload));
}

/** The same chain step for a reader that already holds the event's canonical text. */
export function chainHashOfCanonical(prevHex: string, canonicalText: string): string {
  return sha256Hex(`${prevHex}${canonicalText}`);
}

/** Bearer tokens: `ct_` + 32 random bytes; only their SHA-256 is stored. */
export function newToken(): string {
  return `ct_${randomBytes(32).toString('base64url')}`;
}
export function tokenHash(token: string): string {
  return sha256Hex(`token\n${token}`);
}
export const SCOPES = ['report:write', 'read', 'audit:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];
