import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import pg from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, JetStreamApiCodes, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Database } from '@claimtrail/shared/db';
import { isApiError } from '@claimtrail/shared/nats';
import type { Logger } from '@claimtrail/shared';
import { foldBatch, type StreamMessage } from './fold.ts';
import { createProjectionStore } from './projection-store.ts';

export interface ProjectorDeps {
  nc: NatsConnection;
  db: Kysely<Database>;
  logger: Logger;
  registry: Registry;
  settings: { stream: string; subjectPrefix: string; schema: string; batchSize: number; rule: string; databaseUrl: string };
}

export function toStreamMessage(m: JsMsg): StreamMessage {
  return { seq: m.seq, subject: m.subject, payload: m.string(), time: new Date(Math.floor(m.info.timestampNanos / 1_000_000)).toISOString() };
}

export function consumerNameOf(schema: string): string {
  return `projector_${schema}`;
}

/**
 * The projector: one durable pull consumer over the whole stream, batches folded into one
 * Postgres transaction each, acked after commit. A Postgres advisory lock elects one active
 * projector per read-model schema; a second one waits as a standby.
 */
export function createProjector(deps: ProjectorDeps) {
  const { nc, db, logger, settings } = deps;
  const store = createProjectionStore(db, settings.schema);
  const durable = consumerNameOf(settings.schema);
  const applied = new Counter({ name: 'projector_events_applied_total', help: 'events applied to read models', registers: [deps.registry] });
  const parked = new Counter({ name: 'projector_events_parked_total', help: 'events parked in dead_letters', registers: [deps.registry] });
  const batches = new Histogram({
    name: 'projector_batch_seconds',
    help: 'time to fold and commit one batch',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [deps.registry],
  });
  const lastSeqGauge = new Gauge({ name: 'projector_last_seq', help: 'last stream seq applied', registers: [deps.registry] });
  const pendingGauge = new Gauge({ name: 'projector_pending', help: 'messages not yet delivered to the projector', registers: [deps.registry] });

  let messages: ConsumerMessages | undefined;
  let stopping = false;
  let active = false;
  let done: Promise<void> | undefined;
  let lockClient: pg.Client | undefined;

  async function acquireLock(): Promise<boolean> {
    // A session-level lock on a connection of its own, kept for the process lifetime: it is
    // released by Postgres the moment this process dies, so a standby takes over.
    lockClient = new pg.Client({ connectionString: settings.databaseUrl, application_name: `claimtrail-projector-lock` });
    lockClient.on('error', (err) => logger.error({ err }, 'lock connection failed'));
    await lockClient.connect();
    let announced = false;
    for (;;) {
      if (stopping) return false;
      const r = await lockClient.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1)) as ok', [`claimtrail-projector:${settings.schema}`]);
      if (r.rows[0]?.ok) return true;
      if (!announced) logger.info({ schema: settings.schema }, 'another projector holds the lock; standing by');
      announced = true;
      await sleep(500);
    }
  }

  async function ensureConsumer(startSeq: number) {
    const jsm = await jetstreamManager(nc);
    // The checkpoint in Postgres is the truth; the consumer is rebuilt to start right after it.
    try {
      const info = await jsm.consumers.info(settings.stream, durable);
      if (info.ack_floor.stream_seq === startSeq - 1 && info.delivered.stream_seq === startSeq - 1) return;
      await jsm.consumers.delete(settings.stream, durable);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    }
    await jsm.consumers.add(settings.stream, {
      durable_name: durable,
      ack_policy: AckPolicy.All,
      filter_subject: `${settings.subjectPrefix}.>`,
      ...(startSeq <= 1 ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }),
      max_ack_pending: Math.max(1000, settings.batchSize * 4),
      ack_wait: 60_000_000_000,
      max_deliver: -1,
    });
  }

  async function applyWithRetry(batch: StreamMessage[]) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const t0 = performance.now();
        const out = await store.applyBatch(batch, (input) => foldBatch(input, batch, settings.rule));
        batches.observe((performance.now() - t0) / 1000);
        applied.inc(out.applied);
        parked.inc(out.deadLetters.length);
        lastSeqGauge.set(out.lastSeq);
        if (out.deadLetters.length > 0) logger.warn({ parked: out.deadLetters.map((d) => ({ seq: d.seq, reason: d.reason })) }, 'events parked');
        return;
      } catch (err) {
        if (stopping && attempt > 2) throw err;
        const wait = Math.min(5000, 100 * 2 ** attempt);
        logger.error({ err, attempt, waitMs: wait }, 'batch failed; retrying');
        await sleep(wait);
      }
    }
  }

  async function run() {
    if (!(await acquireLock())) return;
    active = true;
    const cp = await store.readCheckpoint();
    lastSeqGauge.set(cp.lastSeq);
    await ensureConsumer(cp.lastSeq + 1);
    const js = jetstream(nc);
    const consumer = await js.consumers.get(settings.stream, durable);
    messages = await consumer.consume({ max_messages: settings.batchSize * 2 });
    logger.info({ schema: settings.schema, fromSeq: cp.lastSeq + 1, batchSize: settings.batchSize }, 'projector running');
    let batch: StreamMessage[] = [];
    let last: JsMsg | undefined;
    for await (const m of messages) {
      batch.push(toStreamMessage(m));
      last = m;
      pendingGauge.set(m.info.pending);
      if (batch.length >= settings.batchSize || m.info.pending === 0) {
        await applyWithRetry(batch);
        last.ack();
        batch = [];
        last = undefined;
      }
    }
    // The iterator ended (stop): finish what was taken.
    if (batch.length > 0 && last) {
      await applyWithRetry(batch);
      last.ack();
    }
  }

  return {
    store,
    /** Starts folding in the background; resolves once started (or standing by). */
    start(): void {
      done = run().catch((err: unknown) => {
        logger.fatal({ err }, 'projector stopped on an error');
        throw err;
      });
    },
    isActive: () => active,
    /** Stops pulling, finishes the batch in hand, and returns. */
    async stop(): Promise<void> {
      stopping = true;
      await messages?.close();
      await done?.catch(() => undefined);
      await lockClient?.end().catch(() => undefined);
    },
    get finished() {
      return done;
    },
  };
}
