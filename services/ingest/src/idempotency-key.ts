/**
 * The idempotency key of a write: the client's Idempotency-Key header or, without one, the hash of
 * its canonical body, owned by the token that sent it. Another token's identical key (or
 * identical body) is another key: it cannot answer, block (409) or deduplicate this token's
 * writes. Every id a write derives (record, report id, event ids, JetStream msgIDs) comes from
 * this string, hashed. The header is visible ASCII, so the newline cannot be forged into it.
 */
export function requestKeyOf(
  ctx: { keyOwner: string; idempotencyHeader: string | undefined },
  bodyHash: () => string,
): string {
  const own = ctx.idempotencyHeader !== undefined ? `key:${ctx.idempotencyHeader}` : `body:${bodyHash()}`;
  return `${ctx.keyOwner}\n${own}`;
}

/** Who owns the keys of a request: its token (by hash), or the principal when no token was sent. */
export function keyOwnerOf(tokenHash: string | undefined, principal: string): string {
  return tokenHash !== undefined ? `token:${tokenHash}` : `principal:${principal}`;
}
