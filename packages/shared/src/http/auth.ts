import type { FastifyRequest } from 'fastify';
import { AuthError, RateLimitedError } from '../errors.ts';
import { tokenHash, type Scope } from '../identity.ts';
import type { AuthFailureLimiter } from './auth-failures.ts';

export interface Principal {
  principal: string;
  scopes: readonly string[];
}

/** Where hashed tokens live: NATS KV for ingest, Postgres for the query service. */
export interface TokenStore {
  lookup(hash: string): Promise<Principal | undefined>;
  /** A valid token's principal when it is known without a lookup (cached), else undefined. */
  known?(hash: string): Principal | undefined;
}

const BEARER = /^Bearer ([A-Za-z0-9_\-.~+/]+=*)$/;

/** Map insertion order is age: the first key is the one written longest ago. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value!);
}

export interface TokenCacheSizes {
  /** Valid tokens kept. */
  known: number;
  /** Unknown or revoked tokens kept (their own, smaller cache: they cannot push valid ones out). */
  unknown: number;
}

/**
 * Caches lookups for a few seconds so a hot path costs no round trip; revocation shows within
 * `ttlMs`. Valid and unknown tokens are kept apart, each cache bounded and dropping its oldest
 * entry: a flood of made-up tokens can only push out other made-up tokens. Requests with the
 * same token share one lookup in flight, and a failed lookup is remembered for `failureTtlMs`:
 * while the store is down, a flood of requests makes one lookup a token at a time and at most
 * one a second, instead of one each, and each of them fails with that lookup's error.
 */
export function cachedTokenStore(
  inner: TokenStore,
  ttlMs = 5000,
  failureTtlMs = 1000,
  sizes: TokenCacheSizes = { known: 10_000, unknown: 1_000 },
): Required<TokenStore> {
  const known = new Map<string, { at: number; value: Principal }>();
  const unknown = new Map<string, number>();
  const failures = new Map<string, { at: number; err: Error }>();
  const inFlight = new Map<string, Promise<Principal | undefined>>();
  return {
    known(hash) {
      const hit = known.get(hash);
      return hit && Date.now() - hit.at < ttlMs ? hit.value : undefined;
    },
    lookup(hash) {
      const now = Date.now();
      const hit = known.get(hash);
      if (hit && now - hit.at < ttlMs) return Promise.resolve(hit.value);
      const miss = unknown.get(hash);
      if (miss !== undefined && now - miss < ttlMs) return Promise.resolve(undefined);
      const failed = failures.get(hash);
      if (failed && now - failed.at < failureTtlMs) return Promise.reject(failed.err);
      const pending = inFlight.get(hash);
      if (pending) return pending;
      const lookup = inner.lookup(hash).then(
        (value) => {
          inFlight.delete(hash);
          failures.delete(hash);
          if (value) {
            unknown.delete(hash);
            remember(known, hash, { at: now, value }, sizes.known);
          } else {
            known.delete(hash);
            remember(unknown, hash, now, sizes.unknown);
          }
          return value;
        },
        (err: unknown) => {
          inFlight.delete(hash);
          const e = err instanceof Error ? err : new Error(String(err));
          remember(failures, hash, { at: Date.now(), err: e }, sizes.unknown);
          throw err;
        },
      );
      inFlight.set(hash, lookup);
      return lookup;
    },
  };
}

export const ANONYMOUS: Principal = { principal: 'anonymous', scopes: [] };

export interface Authenticated {
  who: Principal;
  /** The hash of the bearer token that authenticated the request; undefined for anonymous. */
  tokenHash: string | undefined;
}

/**
 * Resolves the caller; throws 401 for a missing, malformed or unknown token, 403 for a missing
 * scope. With `failures`, a token that is not known without a lookup costs its caller's address
 * an attempt before the lookup, given back when the token proves valid (or the store cannot
 * answer); an address out of attempts gets 429 with no lookup at all.
 */
export async function authenticate(
  req: FastifyRequest,
  store: TokenStore,
  scope: Scope | null,
  failures?: AuthFailureLimiter,
): Promise<Authenticated> {
  const header = req.headers.authorization;
  if (header === undefined) {
    if (scope === null) return { who: ANONYMOUS, tokenHash: undefined };
    throw new AuthError('unauthenticated', `this endpoint needs a bearer token with scope ${scope}`);
  }
  const m = BEARER.exec(header);
  const hash = m ? tokenHash(m[1]!) : undefined;
  let found = hash === undefined ? undefined : store.known?.(hash);
  if (!found) {
    const address = req.ip;
    const wait = failures?.blockedFor(address) ?? 0;
    if (wait > 0) {
      throw new RateLimitedError(`too many failed authentications from this address; retry after ${wait} s`, wait);
    }
    failures?.take(address);
    if (hash === undefined) throw new AuthError('unauthenticated', 'the Authorization header must be "Bearer <token>"');
    try {
      found = await store.lookup(hash);
    } catch (err) {
      failures?.refund(address);
      throw err;
    }
    if (!found) throw new AuthError('unauthenticated', 'the bearer token is unknown or revoked');
    failures?.refund(address);
  }
  if (scope !== null && !found.scopes.includes(scope) && !found.scopes.includes('admin')) {
    throw new AuthError('forbidden', `the token lacks scope ${scope}`);
  }
  return { who: found, tokenHash: hash };
}
