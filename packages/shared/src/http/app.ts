import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import rateLimit from '@fastify/rate-limit';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Scope } from '../identity.ts';
import { ANONYMOUS, authenticate, type Principal, type TokenStore } from './auth.ts';
import { createAuthFailureLimiter } from './auth-failures.ts';
import { clientErrorHandler, frameworkErrorHandler, type SocketRequests } from './client-errors.ts';
import { setEdgeHeaders } from './edge-headers.ts';
import { parseJsonBody } from './json-body.ts';
import { errorHandler, problem, sendProblem } from './problem.ts';

export interface HttpAppOptions {
  title: string;
  description: string;
  logger: Logger;
  /** Readiness: resolves to a list of what is down (empty when ready). */
  readiness: () => Promise<string[]>;
  ratePerMinute: number;
  registry?: Registry;
  /** Where bearer tokens are checked for routes that declare `config: { scope }`. */
  tokens?: TokenStore;
  /** The text of GET /metrics (default: the registry's metrics). */
  metricsText?: () => Promise<string>;
  /**
   * Authentications an address may fail a minute (a token that is malformed or unknown) before
   * it is answered 429 without a lookup (default: `ratePerMinute`).
   */
  authFailuresPerMinute?: number;
  /** How long a request, headers and body, may take to arrive before it is answered 408 (default 30 s). */
  requestTimeoutMs?: number;
}

/** The default of `requestTimeoutMs`: a 1 MiB body at 35 KB/s. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs; `null`: anonymous allowed, a token is still checked if sent. */
    scope?: Scope | null;
  }
}

const principals = new WeakMap<object, Principal>();
const tokenHashes = new WeakMap<object, string>();

/** Who made the request, as established before the body was even read. */
export function principalOf(req: object): Principal {
  return principals.get(req) ?? ANONYMOUS;
}

/** The hash of the bearer token that authenticated the request; undefined when none did. */
export function tokenHashOf(req: object): string | undefined {
  return tokenHashes.get(req);
}

export type HttpApp = FastifyInstance & { withTypeProvider(): FastifyInstance };

/**
 * A Fastify app with the claimtrail edge: zod validation, problem+json errors, OpenAPI 3.1 from
 * the schemas, request ids, per-token rate limits, /livez, /readyz and Prometheus /metrics.
 */
export async function createHttpApp(o: HttpAppOptions) {
  const requestTimeoutMs = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const socketRequests: SocketRequests = new WeakMap();
  const app = Fastify({
    loggerInstance: o.logger,
    bodyLimit: 1024 * 1024,
    // Node checks every second (not every 30 s) which requests ran out of time.
    requestTimeout: requestTimeoutMs,
    http: { connectionsCheckingInterval: 1000, headersTimeout: requestTimeoutMs },
    clientErrorHandler: clientErrorHandler({ logger: o.logger, requestTimeoutMs, requests: socketRequests }),
    frameworkErrors: frameworkErrorHandler,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\x21-\x7e]{1,128}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', (req, reply, done) => {
    setEdgeHeaders(reply.raw, req.id);
    socketRequests.set(req.raw.socket, { id: req.id, res: reply.raw });
    done();
  });
  // Authentication comes first, before the body is parsed or validated: a caller without the
  // scope learns nothing about what a valid body looks like, and gets 401/403, not 400.
  const tokens = o.tokens;
  if (tokens) {
    const failures = createAuthFailureLimiter({
      max: o.authFailuresPerMinute ?? o.ratePerMinute,
      windowMs: 60_000,
    });
    app.addHook('onRequest', async (req) => {
      const scope = req.routeOptions.config?.scope;
      if (scope === undefined) return;
      const { who, tokenHash } = await authenticate(req, tokens, scope, failures);
      principals.set(req, who);
      if (tokenHash !== undefined) tokenHashes.set(req, tokenHash);
    });
  }
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer, req.headers['content-type']));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, problem(404, `no route ${req.method} ${req.url.split('?')[0]}`)),
  );

  const registry = o.registry ?? new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    socketRequests.delete(req.raw.socket);
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    req.log.debug(
      { method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: o.title, description: o.description, version: '1.0.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(rateLimit, {
    max: o.ratePerMinute,
    timeWindow: 60_000,
    // Authentication ran first: a token counts only once it proved valid, so made-up tokens
    // neither get budgets of their own nor push real ones out of the limiter's store.
    keyGenerator: (req) => {
      const t = tokenHashes.get(req);
      return t === undefined ? `ip:${req.ip}` : `t:${t}`;
    },
    allowList: (req) => ['/livez', '/readyz', '/metrics'].includes(req.url),
    errorResponseBuilder: (_req, ctx) => {
      const err = new Error(
        `rate limit of ${ctx.max} requests a minute exceeded; retry after ${Math.ceil(ctx.ttl / 1000)} s`,
      ) as Error & { statusCode: number };
      err.statusCode = 429;
      return err;
    },
  });

  app.get('/livez', { schema: { hide: true } }, () => Promise.resolve({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const down = await o.readiness().catch((err: unknown) => [`readiness check failed: ${String(err)}`]);
    if (down.length > 0) {
      void reply.header('retry-after', '2');
      return sendProblem(reply, problem(503, `not ready: ${down.join('; ')}`));
    }
    return { status: 'ready' };
  });
  app.get('/metrics', { schema: { hide: true } }, (_req, reply) => {
    void reply.type(registry.contentType);
    return o.metricsText ? o.metricsText() : registry.metrics();
  });
  app.get('/openapi.json', { schema: { hide: true } }, () => Promise.resolve(app.swagger()));
  return { app, registry };
}
