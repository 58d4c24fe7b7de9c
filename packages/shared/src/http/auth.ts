import type { FastifyRequest } from 'fastify';
import { AuthError } from '../errors.ts';
import { tokenHash, type Scope } from '../identity.ts';

export interface Principal {
  principal: string;
  scopes: readonly string[];
}

/** Where hashed tokens live: NATS KV for ingest, Postgres for the query service. */
export interface TokenStore {
  lookup(hash: string): Promise<Principal | undefined>;
}

const BEARER = /^Bearer ([A-Za-z0-9_\-.~+/]+=*)$/;

/**
 * Caches lookups for a few seconds so a hot path costs no round trip; revocation shows within
 * `ttlMs`. Requests with the same token share one lookup in flight, and a failed lookup is
 * remembered for `failureTtlMs`: while the store is down, a flood of requests makes one lookup a
 * token at a time and at most one a second, instead of one each, and each of them fails with
 * that lookup's error.
 */
export function cachedTokenStore(inner: TokenStore, ttlMs = 5000, failureTtlMs = 1000): TokenStore {
  const cache = new Map<string, { at: number; value: Principal | undefined }>();
  const failures = new Map<string, { at: number; err: Error }>();
  const inFlight = new Map<string, Promise<Principal | undefined>>();
  const remember = <V>(map: Map<string, V>, hash: string, v: V) => {
    if (map.size > 10_000) map.clear();
    map.set(hash, v);
  };
  return {
    lookup(hash) {
      const now = Date.now();
      const hit = cache.get(hash);
      if (hit && now - hit.at < ttlMs) return Promise.resolve(hit.value);
      const failed = failures.get(hash);
      if (failed && now - failed.at < failureTtlMs) return Promise.reject(failed.err);
      const pending = inFlight.get(hash);
      if (pending) return pending;
      const lookup = inner.lookup(hash).then(
        (value) => {
          inFlight.delete(hash);
          failures.delete(hash);
          remember(cache, hash, { at: now, value });
          return value;
        },
        (err: unknown) => {
          inFlight.delete(hash);
          remember(failures, hash, { at: Date.now(), err: err instanceof Error ? err : new Error(String(err)) });
          throw err;
        },
      );
      inFlight.set(hash, lookup);
      return lookup;
    },
  };
}

export const ANONYMOUS: Principal = { principal: 'anonymous', scopes: [] };

/** Resolves the caller; throws 401 for a bad token, 403 for a missing scope. */
export async function authenticate(req: FastifyRequest, store: TokenStore, scope: Scope | null): Promise<Principal> {
  const header = req.headers.authorization;
  if (header === undefined) {
    if (scope === null) return ANONYMOUS;
    throw new AuthError('unauthenticated', `this endpoint needs a bearer token with scope ${scope}`);
  }
  const m = BEARER.exec(header);
  if (!m) throw new AuthError('unauthenticated', 'the Authorization header must be "Bearer <token>"');
  const found = await store.lookup(tokenHash(m[1]!));
  if (!found) throw new AuthError('unauthenticated', 'the bearer token is unknown or revoked');
  if (scope !== null && !found.scopes.includes(scope) && !found.scopes.includes('admin')) {
    throw new AuthError('forbidden', `the token lacks scope ${scope}`);
  }
  return found;
}
