import type { ServerResponse } from 'node:http';

/**
 * Headers on every answer of every service, errors included: no content sniffing, no referrer
 * sent on, and no framing; the policy forbids everything, since an API answer loads nothing. A
 * route that serves a page sets its own Content-Security-Policy, which replaces this one.
 */
export const EDGE_HEADERS: readonly (readonly [string, string])[] = [
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
  ['content-security-policy', "default-src 'none'; frame-ancestors 'none'"],
];

/**
 * Sets the request id and EDGE_HEADERS on the raw response, where Node merges them into whatever
 * head is written later (Fastify's reply, an error answer, a hijacked stream); headers the reply
 * sets itself take precedence.
 */
export function setEdgeHeaders(res: ServerResponse, requestId: string): void {
  res.setHeader('x-request-id', requestId);
  for (const [name, value] of EDGE_HEADERS) res.setHeader(name, value);
}
