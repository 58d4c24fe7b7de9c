import { once } from 'node:events';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@claimtrail/shared';
import { createDb, getActiveSchema, metaSchemaOf } from '@claimtrail/shared/db';
import { coalesceWrites } from '@claimtrail/shared/nats';
import { tokenHash } from '@claimtrail/shared/identity';
import { createIngestApp, createKvTokenStore, createSimilarFinder, ingestSettingsOf } from '@claimtrail/ingest';
import { createPgTokenStore, createQueryApp, querySettingsOf } from '@claimtrail/query';
import type { CliConfig } from '../config.ts';
import { CliError, createToken, migrateEverything, openCliBuckets, openDatabase, openNats } from '../runtime.ts';
import { projectorWorkerLimits } from '@claimtrail/projector/heap';
import type { ProjectorThreadData, ProjectorThreadMessage } from './projector-thread.ts';

export const DEMO_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../../demo');

export interface ServeOptions {
  demo: boolean;
  tokenFile: string;
  out: (line: string) => void;
}

/**
 * The projector on a worker thread of its own (projector-thread.ts), with the projector
 * process's heap limits (services/projector/src/heap.ts). Measured with the bench's
 * freshness group: with the projector on the main thread, its folds held up the HTTP requests of
 * ingest and the query service, and p99 at 1,000 events/s was 740 ms where three processes had
 * 233 ms on the same machine.
 */
async function startProjectorThread(data: ProjectorThreadData) {
  const worker = new Worker(new URL('./projector-thread.ts', import.meta.url), {
    workerData: data,
    resourceLimits: projectorWorkerLimits,
  });
  const exited = once(worker, 'exit');
  const first = await Promise.race([
    once(worker, 'message').then(([m]) => m as ProjectorThreadMessage),
    once(worker, 'error').then(([err]) => ({ type: 'failed', message: (err as Error).message }) as const),
  ]);
  if (first.type !== 'listening') {
    await worker.terminate();
    throw new CliError(`the projector did not start: ${first.type === 'failed' ? first.message : first.type}`);
  }
  // The projector restarts itself from its checkpoint after NATS or Postgres failures; an error
  // that still ends the thread leaves nothing folding, so the whole command ends, as the projector
  // process of a deployment would (for its supervisor to start it again).
  worker.on('error', (err: Error) => {
    process.stderr.write(`claimtrail serve: the projector stopped: ${err.message}\n`);
    process.exit(1);
  });
  return {
    port: first.port,
    /** Stops folding, finishes the batch in hand, closes its connections; bounded by `ms`. */
    async stop(ms = 15_000) {
      const stopped = once(worker, 'message');
      worker.postMessage('stop');
      const timer = new Promise((resolve) => setTimeout(resolve, ms).unref());
      await Promise.race([Promise.all([stopped, exited]), timer]);
      await worker.terminate();
    },
  };
}

/** Runs ingest, projector and query in one process (the projector on a thread); resolves to a stopper. */
export async function serve(config: CliConfig, o: ServeOptions) {
  const logger = createLogger('claimtrail', config.LOG_LEVEL);
  const { db, created } = await openDatabase(config, { create: true, max: 20 });
  const nc = await openNats(config, 'claimtrail-serve');
  coalesceWrites(nc, logger);
  const m = await migrateEverything(config, db, nc);
  o.out(
    `database ${created ? 'created and ' : ''}migrated; stream ${config.CLAIMTRAIL_STREAM} ${m.streamCreated ? 'created' : 'ready'} on NATS ${m.serverVersion}`,
  );
  const metaSchema = metaSchemaOf(config.CLAIMTRAIL_SCHEMA);
  const schema = (await getActiveSchema(db, metaSchema))!;
  const buckets = await openCliBuckets(config, nc);
  const { db: readDb } = createDb({
    url: config.DATABASE_URL,
    max: 16,
    readOnly: true,
    statementTimeoutMs: config.CLAIMTRAIL_READ_TIMEOUT_MS,
    applicationName: 'claimtrail-query',
  });

  const ingest = await createIngestApp({
    nc,
    idempotencyKv: buckets.idempotency,
    identitiesKv: buckets.identities,
    tokens: createKvTokenStore(buckets.tokens),
    similar: createSimilarFinder(readDb, config.CLAIMTRAIL_SCHEMA, logger.child({ service: 'ingest' })),
    logger: logger.child({ service: 'ingest' }),
    settings: ingestSettingsOf(config),
  });
  const query = await createQueryApp({
    db: readDb,
    logger: logger.child({ service: 'query' }),
    tokens: createPgTokenStore(readDb, metaSchema),
    settings: querySettingsOf(config),
  });
  try {
    await ingest.app.listen({ host: config.HOST, port: config.INGEST_PORT });
    await query.app.listen({ host: config.HOST, port: config.QUERY_PORT });
  } catch (err) {
    throw new CliError(`cannot listen: ${(err as Error).message} (set INGEST_PORT, QUERY_PORT, PROJECTOR_PORT)`);
  }
  /** What the main thread opened: both HTTP services and their connections. */
  const closeMainThread = async () => {
    await ingest.close();
    await query.close();
    await nc.drain();
    await readDb.destroy();
    await db.destroy();
  };
  let projector: Awaited<ReturnType<typeof startProjectorThread>>;
  try {
    projector = await startProjectorThread({ config, schema });
  } catch (err) {
    await closeMainThread();
    throw err instanceof CliError && /EADDRINUSE|listen/.test(err.message)
      ? new CliError(`${err.message} (set PROJECTOR_PORT)`)
      : err;
  }
  const urlOf = (server: { address(): unknown }) => {
    const a = server.address() as { port: number } | null;
    return `http://${config.HOST}:${a?.port ?? 0}`;
  };
  const ingestUrl = urlOf(ingest.app.server);
  const queryUrl = urlOf(query.app.server);
  const projectorUrl = `http://${config.HOST}:${projector.port}`;

  let demoToken: string | undefined;
  if (o.demo) {
    demoToken = await ensureDemoToken(config, o.tokenFile, db, nc);
    const posted = await postDemoIfEmpty(db, schema, ingestUrl, queryUrl, demoToken);
    o.out(posted ? `demo reports posted: ${posted} claims` : 'demo data already present; not posted again');
  }
  o.out('');
  o.out(`claimtrail is running.`);
  o.out(`  web page:      ${queryUrl}/`);
  o.out(`  demo history:  ${queryUrl}/v1/topics/dprk-troops-in-russia/metrics/killed/history`);
  o.out(`  topics:        ${queryUrl}/v1/topics`);
  o.out(`  query API:     ${queryUrl}/openapi.json`);
  o.out(`  ingest API:    ${ingestUrl}/openapi.json`);
  o.out(`  metrics:       ${queryUrl}/metrics  ${ingestUrl}/metrics  ${projectorUrl}/metrics`);
  if (demoToken) o.out(`  demo token (all scopes), also in ${o.tokenFile}:\n    ${demoToken}`);
  o.out('Stop with Ctrl-C.');

  return {
    ingestUrl,
    queryUrl,
    projectorUrl,
    demoToken,
    db,
    nc,
    schema,
    async stop() {
      await closeMainThread();
      await projector.stop();
    },
  };
}

async function ensureDemoToken(
  config: CliConfig,
  file: string,
  db: Awaited<ReturnType<typeof openDatabase>>['db'],
  nc: Awaited<ReturnType<typeof openNats>>,
) {
  try {
    const saved = (await readFile(file, 'utf8')).trim();
    const row = await db
      .withSchema(metaSchemaOf(config.CLAIMTRAIL_SCHEMA))
      .selectFrom('api_tokens')
      .select('token_hash')
      .where('token_hash', '=', tokenHash(saved))
      .executeTakeFirst();
    const { tokens } = await openCliBuckets(config, nc);
    if (row && (await tokens.get(tokenHash(saved)))) return saved;
  } catch {
    // No saved token, or one from another database: make a new one.
  }
  const token = await createToken(config, db, nc, 'demo', ['report:write', 'read', 'audit:read', 'admin']);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** Posts the demo metric definitions and report when the read models hold no claim yet. */
async function postDemoIfEmpty(
  db: Awaited<ReturnType<typeof openDatabase>>['db'],
  schema: string,
  ingestUrl: string,
  queryUrl: string,
  token: string,
): Promise<number | undefined> {
  const any = await db.withSchema(schema).selectFrom('event_ledger').select('seq').limit(1).executeTakeFirst();
  if (any) return undefined;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const topics = JSON.parse(await readFile(join(DEMO_DIR, 'topics.json'), 'utf8')) as unknown[];
  for (const t of topics) {
    const r = await fetch(`${ingestUrl}/v1/topics`, { method: 'POST', headers, body: JSON.stringify(t) });
    if (!r.ok) throw new CliError(`posting the demo topic failed: ${r.status} ${await r.text()}`);
  }
  const metrics = JSON.parse(await readFile(join(DEMO_DIR, 'metrics.json'), 'utf8')) as unknown[];
  for (const m of metrics) {
    const r = await fetch(`${ingestUrl}/v1/metrics`, { method: 'POST', headers, body: JSON.stringify(m) });
    if (!r.ok) throw new CliError(`posting demo metric failed: ${r.status} ${await r.text()}`);
  }
  // The seed article and the earlier and later reports on the same topic (demo/reports/, with
  // their sources in demo/SOURCES.md), posted in the order they were published, so the page's
  // lines move; then the corrections of demo/corrections.json.
  const files = [
    join(DEMO_DIR, 'nk-troops-russia.report.json'),
    ...(await readdir(join(DEMO_DIR, 'reports')))
      .filter((f) => f.endsWith('.report.json'))
      .map((f) => join(DEMO_DIR, 'reports', f)),
  ];
  const reports = await Promise.all(
    files.map(async (file) => {
      const body = await readFile(file, 'utf8');
      return { file, body, publishedAt: (JSON.parse(body) as { report: { publishedAt: string } }).report.publishedAt };
    }),
  );
  reports.sort((a, b) => a.publishedAt.localeCompare(b.publishedAt) || a.file.localeCompare(b.file));
  let claims = 0;
  let lastSeq = 0;
  const claimIds = new Map<string, string[]>();
  for (const { file, body } of reports) {
    const name = basename(file);
    const r = await fetch(`${ingestUrl}/v1/reports`, {
      method: 'POST',
      headers: { ...headers, 'idempotency-key': `demo-${name.replace(/\.report\.json$/, '')}` },
      body,
    });
    if (!r.ok) throw new CliError(`posting the demo report ${name} failed: ${r.status} ${await r.text()}`);
    const answer = (await r.json()) as { lastSeq: number; claims: { claimId: string }[] };
    claims += answer.claims.length;
    lastSeq = Math.max(lastSeq, answer.lastSeq);
    claimIds.set(
      name,
      answer.claims.map((c) => c.claimId),
    );
  }
  const corrections = JSON.parse(await readFile(join(DEMO_DIR, 'corrections.json'), 'utf8')) as {
    report: string;
    claim: number;
    changes: unknown;
    reason: string;
  }[];
  for (const c of corrections) {
    const claimId = claimIds.get(c.report)?.[c.claim];
    if (!claimId) throw new CliError(`demo correction: no claim ${c.claim} in ${c.report}`);
    const r = await fetch(`${ingestUrl}/v1/claims/${claimId}/corrections`, {
      method: 'POST',
      headers: { ...headers, 'idempotency-key': `demo-correction-${c.report}-${c.claim}` },
      body: JSON.stringify({ changes: c.changes, reason: c.reason }),
    });
    if (!r.ok) throw new CliError(`posting the demo correction of ${claimId} failed: ${r.status} ${await r.text()}`);
    lastSeq = Math.max(lastSeq, ((await r.json()) as { seq: number }).seq);
  }
  // Wait until the projection shows it all, so the printed URLs answer at once.
  // The demo token has every scope, so this also works when reads need a token.
  const seen = await fetch(`${queryUrl}/v1/topics?minSeq=${lastSeq}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!seen.ok)
    throw new CliError(`the demo reports were stored but not projected: ${seen.status} ${await seen.text()}`);
  return claims;
}
