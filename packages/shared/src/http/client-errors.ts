import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { EDGE_HEADERS, setEdgeHeaders } from './edge-headers.ts';
import { problem, sendProblem } from './problem.ts';

/** The request being read on each socket: a request timeout names it, and spares an answer under way. */
export type SocketRequests = WeakMap<Socket, { id: string; res: ServerResponse }>;

/** The complete HTTP/1.1 text of a problem answer that closes the connection. */
export function rawProblemResponse(status: number, detail: string, requestId: string): string {
  const body = JSON.stringify(problem(status, detail));
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'content-type: application/problem+json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    `x-request-id: ${requestId}`,
    ...EDGE_HEADERS.map(([name, value]) => `${name}: ${value}`),
    'connection: close',
  ];
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * The server's 'clientError' handler: what Node refuses before a request reaches Fastify
 * (headers past 16 KiB, a request that took longer than `requestTimeoutMs` to arrive, bytes that
 * are not HTTP) is answered as problem+json with a request id, then the connection is closed.
 */
export function clientErrorHandler(o: { logger: Logger; requestTimeoutMs: number; requests: SocketRequests }) {
  return (err: Error & { code?: string }, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const current = o.requests.get(socket);
    // An answer already under way (begun before its request's body had all arrived) cannot be
    // followed by another one on the same connection.
    if (current?.res.headersSent) {
      socket.destroy();
      return;
    }
    const id = current?.id ?? randomUUID();
    let status = 400;
    let detail = 'the request is not valid HTTP/1.1';
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      detail = `the request (headers and body) did not arrive within ${o.requestTimeoutMs / 1000} s`;
    } else if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      detail = 'the request line and headers are larger than the limit of 16 KiB';
    }
    o.logger.debug({ reqId: id, status, code: err.code }, `answered ${status}: ${detail}`);
    if (socket.writable) socket.write(rawProblemResponse(status, detail, id));
    socket.destroy();
  };
}

/**
 * Fastify's `frameworkErrors`: a URL it cannot route (a path parameter longer than its limit,
 * 414; a malformed percent-encoding, 400) is answered before any hook runs, so the request id and
 * edge headers are set here.
 */
export function frameworkErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  setEdgeHeaders(reply.raw, req.id);
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    const detail = 'a segment of the path is longer than the limit of 100 characters';
    void sendProblem(reply, problem(414, detail, [{ path: 'path:/', message: detail }]));
    return;
  }
  if (err.code === 'FST_ERR_BAD_URL') {
    const detail = 'the path is not a valid URL (a malformed percent-encoding)';
    void sendProblem(reply, problem(400, detail, [{ path: 'path:/', message: detail }]));
    return;
  }
  req.log.error({ err }, 'unexpected routing failure');
  void sendProblem(reply, problem(500, 'an unexpected failure; it has been logged'));
}
