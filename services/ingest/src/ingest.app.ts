import { z } from 'zod';
import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import type { Registry } from 'prom-client';
import {
  claimSeqResponse,
  postCorrectionRequest,
  postMetricRequest,
  postReportRequest,
  postReportResponse,
  postRetractionRequest,
  postTopicRequest,
  problemDetails,
  seqResponse,
  type PostReportResponse,
} from '@claimtrail/shared/contract';
import { claimId as claimIdSchema } from '@claimtrail/shared/events';
import { cachedTokenStore, createHttpApp, principalOf, tokenHashOf, type TokenStore } from '@claimtrail/shared/http';
import type { Logger } from '@claimtrail/shared';
import { openIdentityIndex } from '@claimtrail/shared/nats';
import type { SimilarFinder } from './similar-claims.ts';
import { createEventStore, createJetStreamPublisher } from './event-store.ts';
import { createIdempotency, kvRecordWriter } from './idempotency.ts';
import { keyOwnerOf } from './idempotency-key.ts';
import { submitReport, type RequestContext } from './report-submission.ts';
import { correctClaim, retractClaim } from './claim-mutations.ts';
import { defineMetric, parseIfMatch } from './metric-definition.ts';
import { createMetricCatalog } from './metric-catalog.ts';
import { defineTopic } from './topic-definition.ts';

export interface IngestDeps {
  nc: NatsConnection;
  idempotencyKv: KV;
  /** The identity index's bucket (identity-index.ts in the shared nats package). */
  identitiesKv: KV;
  tokens: TokenStore;
  /** Hints of similar claims from the read models (similar-claims.ts); without it, answers carry none. */
  similar?: SimilarFinder;
  logger: Logger;
  clock?: () => Date;
  /** Where the app's metrics are registered (default: a registry of its own). */
  registry?: Registry;
  /** The text of GET /metrics (default: the registry's; several processes: their sum, cluster.ts). */
  metricsText?: () => Promise<string>;
  settings: {
    stream: string;
    subjectPrefix: string;
    publishTimeoutMs: number;
    ratePerMinute: number;
    /** How long a request may take to arrive (default: createHttpApp's). */
    requestTimeoutMs?: number;
  };
}

const idemHeader = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, 'must be 1..128 visible ASCII characters')
  .optional();
const headersSchema = z.object({ 'idempotency-key': idemHeader }).loose();
const metricHeadersSchema = z
  .object({
    'idempotency-key': idemHeader,
    'if-match': z.string().max(1000).optional().describe('"<seq>" of the definition in force, to change it'),
  })
  .loose();
const errorResponses = {
  400: problemDetails,
  401: problemDetails,
  403: problemDetails,
  409: problemDetails,
  413: problemDetails,
  429: problemDetails,
  503: problemDetails,
};

/** The ingest HTTP service: validates, derives ids, publishes, answers with seqs. */
export async function createIngestApp(deps: IngestDeps) {
  const publisher = createJetStreamPublisher(deps.nc, deps.settings.publishTimeoutMs);
  const store = await createEventStore(deps.nc, deps.settings, publisher, deps.logger).catch((err: unknown) => {
    publisher.close();
    throw err;
  });
  const identities = await openIdentityIndex(deps.identitiesKv).catch((err: unknown) => {
    store.close();
    throw err;
  });
  const records = kvRecordWriter(deps.idempotencyKv, publisher);
  if (records.via !== 'publisher')
    deps.logger.warn(
      'idempotency records are written through nats.js KV (this nats.js has no subjectForKey): slower, still correct',
    );
  const idem = createIdempotency<PostReportResponse>(deps.idempotencyKv, 'report', records.write);
  const catalog = createMetricCatalog(store);
  const tokens = cachedTokenStore(deps.tokens);
  const clock = deps.clock ?? (() => new Date());
  const { app, registry } = await createHttpApp({
    title: 'claimtrail ingest',
    description: 'Posts reports, corrections, retractions and metric definitions as events.',
    logger: deps.logger,
    readiness: () => store.ready(),
    ratePerMinute: deps.settings.ratePerMinute,
    ...(deps.settings.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: deps.settings.requestTimeoutMs }),
    tokens,
    ...(deps.registry ? { registry: deps.registry } : {}),
    ...(deps.metricsText ? { metricsText: deps.metricsText } : {}),
  });

  const context = (req: import('fastify').FastifyRequest): RequestContext => {
    const who = principalOf(req);
    const h = req.headers['idempotency-key'];
    return {
      actor: who.principal,
      requestId: req.id,
      idempotencyHeader: typeof h === 'string' ? h : undefined,
      keyOwner: keyOwnerOf(tokenHashOf(req), who.principal),
      now: clock,
      log: req.log,
    };
  };

  app.post(
    '/v1/reports',
    {
      config: { scope: 'report:write' },
      schema: {
        summary: 'Submit a report and its claims',
        security: [{ bearer: [] }],
        headers: headersSchema,
        body: postReportRequest,
        response: { 200: postReportResponse, 202: postReportResponse, ...errorResponses },
      },
    },
    async (req, reply) => {
      const ctx = context(req);
      const out = await submitReport({ store, idem, catalog, identities, similar: deps.similar }, req.body, ctx);
      return reply.code(out.duplicate ? 200 : 202).send(out.response);
    },
  );

  const claimParams = z.object({ claimId: claimIdSchema });
  app.post(
    '/v1/claims/:claimId/corrections',
    {
      config: { scope: 'report:write' },
      schema: {
        summary: 'Correct our transcription of a claim',
        security: [{ bearer: [] }],
        headers: headersSchema,
        params: claimParams,
        body: postCorrectionRequest,
        response: { 202: claimSeqResponse, 404: problemDetails, ...errorResponses },
      },
    },
    async (req, reply) => {
      const ctx = context(req);
      return reply.code(202).send(await correctClaim(store, catalog, identities, req.params.claimId, req.body, ctx));
    },
  );
  app.post(
    '/v1/claims/:claimId/retractions',
    {
      config: { scope: 'report:write' },
      schema: {
        summary: 'Retract a claim',
        security: [{ bearer: [] }],
        headers: headersSchema,
        params: claimParams,
        body: postRetractionRequest,
        response: { 202: claimSeqResponse, 404: problemDetails, ...errorResponses },
      },
    },
    async (req, reply) => {
      const ctx = context(req);
      return reply.code(202).send(await retractClaim(store, req.params.claimId, req.body, ctx));
    },
  );
  app.post(
    '/v1/metrics',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Define or redefine a metric',
        description:
          'The definition in force is the last one written; its seq is its ETag. The same definition again answers 200 with "duplicate": true; a new label alone is written; a change of unit, aggregation or composedOf needs If-Match: "<seq>" naming the definition in force (409 without, 412 when stale).',
        security: [{ bearer: [] }],
        headers: metricHeadersSchema,
        body: postMetricRequest,
        response: { 200: seqResponse, 202: seqResponse, 412: problemDetails, ...errorResponses },
      },
    },
    async (req, reply) => {
      const h = req.headers['if-match'];
      const out = await defineMetric(
        store,
        catalog,
        req.body,
        parseIfMatch(typeof h === 'string' ? h : undefined),
        context(req),
      );
      return reply
        .code(out.duplicate ? 200 : 202)
        .header('etag', `"${out.seq}"`)
        .send({ seq: out.seq, ...(out.duplicate ? { duplicate: true } : {}) });
    },
  );
  app.post(
    '/v1/topics',
    {
      config: { scope: 'admin' },
      schema: {
        summary: "Define a topic's label and description",
        description: 'The same definition as the one in force answers 200 with "duplicate": true and stores nothing.',
        security: [{ bearer: [] }],
        headers: headersSchema,
        body: postTopicRequest,
        response: { 200: seqResponse, 202: seqResponse, ...errorResponses },
      },
    },
    async (req, reply) => {
      const out = await defineTopic(store, req.body, context(req));
      return reply
        .code(out.duplicate ? 200 : 202)
        .send({ seq: out.seq, ...(out.duplicate ? { duplicate: true } : {}) });
    },
  );

  return {
    app,
    registry,
    async close() {
      await app.close();
      await identities.close();
      store.close();
    },
  };
}
