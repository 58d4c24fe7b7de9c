/**
 * Failed authentications per address, in fixed windows: the rate limiter keys authenticated
 * requests by their token, so without this a caller with made-up tokens would have a fresh
 * budget, and cost a token lookup, with every request.
 */
export interface AuthFailureLimiter {
  /** Seconds until `address` may try again (0: it may now). */
  blockedFor(address: string): number;
  /** Counts an attempt that may fail, before it is made. */
  take(address: string): void;
  /** Gives back an attempt that did not fail (a valid token; a store that could not answer). */
  refund(address: string): void;
}

export interface AuthFailureLimits {
  /** Attempts an address may fail in a window. */
  max: number;
  windowMs: number;
  /** Addresses tracked at once; past it, the oldest window is forgotten. */
  addresses?: number;
  now?: () => number;
}

export function createAuthFailureLimiter(o: AuthFailureLimits): AuthFailureLimiter {
  const now = o.now ?? Date.now;
  const maxAddresses = o.addresses ?? 100_000;
  // Insertion order is the order windows started in: the first entry is the oldest.
  const windows = new Map<string, { start: number; count: number }>();
  const current = (address: string, t: number) => {
    const w = windows.get(address);
    return w && t - w.start < o.windowMs ? w : undefined;
  };
  return {
    blockedFor(address) {
      const t = now();
      const w = current(address, t);
      return w && w.count >= o.max ? Math.max(1, Math.ceil((w.start + o.windowMs - t) / 1000)) : 0;
    },
    take(address) {
      const t = now();
      const w = current(address, t);
      if (w) {
        w.count += 1;
        return;
      }
      windows.delete(address);
      windows.set(address, { start: t, count: 1 });
      while (windows.size > maxAddresses) windows.delete(windows.keys().next().value!);
    },
    refund(address) {
      const w = current(address, now());
      if (w && w.count > 0) w.count -= 1;
    },
  };
}
