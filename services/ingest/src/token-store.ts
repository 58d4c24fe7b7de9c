import type { KV } from '@nats-io/kv';
import { UnavailableError } from '@claimtrail/shared/errors';
import { isNatsUnavailable, type Principal, type TokenStore } from '@claimtrail/shared/http';

interface StoredToken {
  principal: string;
  scopes: string[];
  createdAt: string;
  revokedAt?: string;
}

/** Hashed tokens in the NATS KV bucket (ingest talks to NATS only). */
export function createKvTokenStore(kv: KV): TokenStore & { put(hash: string, p: Principal): Promise<void> } {
  return {
    async lookup(hash) {
      let e;
      try {
        e = await kv.get(hash);
      } catch (err) {
        if (isNatsUnavailable(err)) throw new UnavailableError('the token store (NATS) is unavailable; retry', 2, err);
        throw err;
      }
      if (!e || e.operation !== 'PUT') return undefined;
      const t = e.json<StoredToken>();
      if (t.revokedAt) return undefined;
      return { principal: t.principal, scopes: t.scopes };
    },
    async put(hash, p) {
      await kv.put(
        hash,
        JSON.stringify({ principal: p.principal, scopes: [...p.scopes], createdAt: new Date().toISOString() }),
      );
    },
  };
}
