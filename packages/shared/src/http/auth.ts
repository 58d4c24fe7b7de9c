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

/** Caches lookups for a few seconds so a hot path costs no round trip; revocation shows within ttlMs. */
export function cachedTokenStore(inner: TokenStore, ttlMs = 5000): TokenStore {
  const cache = new Map<string, { at: number; value: Principal | undefined }>();
  return {
    async lookup(hash) {
      const hit = cache.get(hash);
      const now = Date.now();
      if (hit && now - hit.at < ttlMs) return hit.value;
      const value = await inner.lookup(hash);
      if (cache.size > 10_000) cache.clear();
      cache.set(hash, { at: now, value });
      return value;
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
