import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import {
  AuthError,
  ClaimtrailError,
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
  RateLimitedError,
  UnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../errors.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problem(status: number, detail: string, errors?: Problem['errors'], type?: string): Problem {
  return {
    type: type ?? `https://claimtrail.dev/problems/${status}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json; charset=utf-8').send(p);
}

function pathOf(
  context: string | undefined,
  instancePath: string,
  params: Record<string, unknown> | undefined,
): string[] {
  const base = instancePath === '/' ? '' : instancePath;
  const keys = params?.keys;
  const prefix = context === 'body' || context === undefined ? '' : `${context === 'querystring' ? 'query' : context}:`;
  if (Array.isArray(keys) && keys.length > 0) return keys.map((k) => `${prefix}${base}/${String(k)}`);
  return [`${prefix}${base || '/'}`];
}

/**
 * Postgres could not be reached or refused the connection (down, restarting, the database missing,
 * too many connections): the request was fine and a retry may succeed, so 503, not 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (/^08/.test(code) || /^57P0[123]$/.test(code) || code === '3D000' || code === '53300') return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE'].includes(code)) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return /^(Connection terminated|timeout exceeded when trying to connect)/.test(message);
}

/** nats.js's names for failures of the connection or of a request on it (checked by name: no NATS import here). */
const NATS_UNAVAILABLE_NAMES = new Set([
  'TimeoutError',
  'NoResponders',
  'NoRespondersError',
  'ClosedConnectionError',
  'DrainingConnectionError',
  'ConnectionError',
  'JetStreamNotEnabled',
]);
const NATS_UNAVAILABLE_MESSAGE =
  /^(timeout|no responders|connection disconnected|closed connection|connection draining)\b|\b(stream|leader) not available\b|temporarily unavailable|\bno leader\b/i;

/**
 * NATS or JetStream could not answer (a timeout, no responders, the connection closed, draining or
 * reconnecting, a JetStream API 503, "stream/leader not available"), here or in any cause: the
 * request was fine and a retry may succeed, so 503, not 500.
 */
export function isNatsUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth += 1) {
    const { name, message, status, code, cause } = e as {
      name?: unknown;
      message?: unknown;
      status?: unknown;
      code?: unknown;
      cause?: unknown;
    };
    const n = typeof name === 'string' ? name : '';
    if (NATS_UNAVAILABLE_NAMES.has(n)) return true;
    // JetStreamApiError (and its subclasses) carry the API's HTTP-like status; JetStreamStatusError its code.
    if (/^JetStream/.test(n) && (status === 503 || code === 503 || code === 408)) return true;
    if ((n === 'RequestError' || /^JetStream/.test(n)) && typeof message === 'string')
      if (NATS_UNAVAILABLE_MESSAGE.test(message)) return true;
    e = cause;
  }
  return false;
}

/**
 * What a 503's log line says of its error: a bound of the service's own (an UnavailableError
 * without a cause: a full lane, a `minSeq` not reached, a client gone) by its type and message,
 * whose stack tells an operator nothing; a dependency's failure whole, stack and causes included.
 */
export function loggedError(err: unknown): unknown {
  return err instanceof UnavailableError && err.cause === undefined ? { type: err.name, message: err.message } : err;
}

/** The one log line of every 503 answer, with what caused it. */
function unavailable(req: FastifyRequest, reply: FastifyReply, err: unknown, retryAfterS: number, detail: string) {
  req.log.warn({ err: loggedError(err), status: 503, retryAfterS }, `answered 503: ${detail}`);
  void reply.header('retry-after', String(retryAfterS));
  return sendProblem(reply, problem(503, detail));
}

/** The one place that turns failures into HTTP answers. Never leaks a stack trace. */
export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const ctx = (err as { validationContext?: string }).validationContext;
    const errors = err.validation.flatMap((v) => {
      const unknown = v.keyword === 'unrecognized_keys';
      return pathOf(ctx, v.instancePath, v.params).map((path) => ({
        path,
        message: unknown ? 'unknown field' : (v.message ?? 'invalid'),
      }));
    });
    return sendProblem(
      reply,
      problem(
        400,
        `the request ${ctx ?? 'body'} is invalid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
        errors,
      ),
    );
  }
  if (isResponseSerializationError(err)) {
    req.log.error({ err }, 'response did not match its schema');
    return sendProblem(reply, problem(500, 'the server built an answer that does not match its contract'));
  }
  if (err instanceof ValidationError) return sendProblem(reply, problem(400, err.message, err.details));
  if (err instanceof NotFoundError) return sendProblem(reply, problem(404, err.message));
  if (err instanceof ConflictError) return sendProblem(reply, problem(409, err.message));
  if (err instanceof PreconditionFailedError) return sendProblem(reply, problem(412, err.message));
  if (err instanceof AuthError)
    return sendProblem(reply, problem(err.code === 'unauthenticated' ? 401 : 403, err.message));
  if (err instanceof UnavailableError) return unavailable(req, reply, err, err.retryAfterS, err.message);
  if (err instanceof UnsupportedMediaTypeError) return sendProblem(reply, problem(415, err.message, err.details));
  if (err instanceof RateLimitedError) {
    void reply.header('retry-after', String(err.retryAfterS));
    return sendProblem(reply, problem(429, err.message));
  }
  if (err instanceof ClaimtrailError) return sendProblem(reply, problem(400, err.message, err.details));
  if (isDatabaseUnavailable(err)) return unavailable(req, reply, err, 2, 'the database is unavailable; retry');
  if (isNatsUnavailable(err)) return unavailable(req, reply, err, 2, 'NATS is unavailable; retry');
  const status = err.statusCode ?? 500;
  if (status === 413) return sendProblem(reply, problem(413, 'the body is larger than the limit of 1 MiB'));
  if (status === 429) {
    return sendProblem(reply, problem(429, err.message || 'rate limit exceeded'));
  }
  if (status >= 400 && status < 500) {
    // Fastify's own client errors: bad JSON, wrong content type, prototype poisoning…
    const detail =
      err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'the body is empty; a JSON object is expected' : err.message;
    return sendProblem(reply, problem(status, detail, [{ path: '/', message: detail }]));
  }
  req.log.error({ err }, 'unexpected failure');
  return sendProblem(reply, problem(500, 'an unexpected failure; it has been logged'));
}
