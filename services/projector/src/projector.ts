import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  JetStreamApiCodes,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { getActiveSchema, type Database } from '@claimtrail/shared/db';
import { eventFilterOf, isApiError } from '@claimtrail/shared/nats';
import type { Logger } from '@claimtrail/shared';
import { foldBatch, SeqGapError } from './fold.ts';
import type { StreamMessage } from './stream-message.ts';
import { createProjectionStore, FencedError, type ProjectionStore } from './projection-store.ts';
import { createBatchPipeline, type BatchPipeline } from './batch-pipeline.ts';

export interface ProjectorDeps {
  nc: NatsConnection;
  db: Kysely<Database>;
  logger: Logger;
  registry: Registry;
  settings: {
    stream: string;
    subjectPrefix: string;
    schema: string;
    batchSize: number;
    rule: string;
    databaseUrl: string;
    /**
     * The meta schema whose `active_schema` pointer the projector follows: when a replay is
     * promoted it stops on the old schema and continues on the new one from that schema's
     * checkpoint. Unset: the meta schema whose pointer names `schema`, if any. `null`: never follow.
     */
    metaSchema?: string | null;
    /** How often the pointer is read (default 250 ms). */
    followMs?: number;
    /** How long a leader with events waiting may commit nothing before it reports not ready (default STALL_MS). */
    stallMs?: number;
  };
}

export function toStreamMessage(m: JsMsg): StreamMessage {
  return {
    seq: m.seq,
    subject: m.subject,
    payload: m.string(),
    time: new Date(Math.floor(m.info.timestampNanos / 1_000_000)).toISOString(),
  };
}

/** The longest a partial batch waits for more messages before it is committed. */
const MAX_LINGER_MS = 20;

/** The longest pause between two starts after failures (Postgres or NATS away): resumes soon after they return. */
const MAX_RESTART_WAIT_MS = 5000;

/** A leader with events waiting that has committed nothing for this long reports not ready. */
export const STALL_MS = 30_000;

/** A failure named for an operator without its text (which may hold data or addresses): its SQLSTATE or class. */
function failureName(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown } | null;
  const name = typeof e?.name === 'string' ? e.name : 'unknown failure';
  return typeof e?.code === 'string' && e.code !== '' ? `${name} ${e.code}` : name;
}

/** The election lock's connection ended while this projector led: it stops leading at once. */
export class LeadershipLostError extends Error {
  constructor(schema: string, cause?: unknown) {
    super(`lost the projector lock of ${schema} (its connection ended); standing down`, { cause });
    this.name = 'LeadershipLostError';
  }
}

/** Failures a batch retry cannot mend: the run ends and starts again from the checkpoint, re-elected. */
function isFinal(err: unknown): boolean {
  return err instanceof FencedError || err instanceof SeqGapError || err instanceof LeadershipLostError;
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
  let schema = settings.schema;
  let store = createProjectionStore(db, schema);
  const applied = new Counter({
    name: 'projector_events_applied_total',
    help: 'events applied to read models',
    registers: [deps.registry],
  });
  const parked = new Counter({
    name: 'projector_events_parked_total',
    help: 'events parked in dead_letters',
    registers: [deps.registry],
  });
  const batches = new Histogram({
    name: 'projector_batch_seconds',
    help: 'time to fold and commit one batch',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [deps.registry],
  });
  const lastSeqGauge = new Gauge({
    name: 'projector_last_seq',
    help: 'last stream seq applied',
    registers: [deps.registry],
  });
  const pendingGauge = new Gauge({
    name: 'projector_pending',
    help: 'messages not yet delivered to the projector',
    registers: [deps.registry],
  });

  let messages: ConsumerMessages | undefined;
  let stopping = false;
  let active = false;
  let done: Promise<void> | undefined;
  let lockClient: pg.Client | undefined;
  /** Set when the lock's connection ends while leading; the run in progress ends on it. */
  let lost: LeadershipLostError | undefined;
  let switchTo: string | undefined;
  let follower: NodeJS.Timeout | undefined;
  /** Every stream seq is an event (no subject filter): the fold refuses gaps. */
  let contiguous = false;
  /** The rule the schema is folded with (stored with it: settleRule). */
  let rule = settings.rule;
  const holder = `${hostname()}:${process.pid}`;
  /** For readiness: the newest seq delivered, the newest committed, when a commit last landed, the last failure. */
  const progress = { delivered: 0, committed: 0, at: Date.now(), failure: undefined as string | undefined };

  /** Read through a function: TypeScript narrows the variable to undefined after runOn resets it. */
  const lostLead = (): LeadershipLostError | undefined => lost;

  /** The lock connection is gone: a leader stands down at once (its commits are fenced anyway). */
  function lockConnectionEnded(client: pg.Client, err?: unknown) {
    if (lockClient !== client) return;
    lockClient = undefined;
    client.end().catch(() => undefined);
    if (!active || stopping) return;
    active = false;
    lost = new LeadershipLostError(schema, err);
    logger.error({ err, schema }, 'lock connection lost; standing down and re-electing');
    messages?.stop();
  }

  async function acquireLock(): Promise<boolean> {
    // A session-level lock on a connection of its own: it is released by Postgres the moment this
    // process dies or the connection drops, so a standby takes over. Losing it ends the lead
    // (lockConnectionEnded); the lease epoch (takeLead) fences whatever was still in flight.
    let client = lockClient;
    if (!client) {
      const c = new pg.Client({
        connectionString: settings.databaseUrl,
        application_name: `claimtrail-projector-lock`,
      });
      client = c;
      c.on('error', (err) => lockConnectionEnded(c, err));
      c.on('end', () => lockConnectionEnded(c));
      try {
        await c.connect();
      } catch (err) {
        await c.end().catch(() => undefined);
        throw err;
      }
      lockClient = c;
    }
    let announced = false;
    for (;;) {
      if (stopping) return false;
      const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1)) as ok', [
        `claimtrail-projector:${schema}`,
      ]);
      if (r.rows[0]?.ok) return true;
      if (!announced) logger.info({ schema }, 'another projector holds the lock; standing by');
      announced = true;
      await sleep(500);
    }
  }

  /** The meta schema to follow: given, or the one whose pointer names our schema. */
  async function metaSchemaToFollow(): Promise<string | null> {
    if (settings.metaSchema !== undefined) return settings.metaSchema;
    const metas = await sql<{ table_schema: string }>`
      select table_schema from information_schema.tables where table_name = 'active_schema' and table_type = 'BASE TABLE'`.execute(
      db,
    );
    for (const m of metas.rows)
      if ((await getActiveSchema(db, m.table_schema).catch(() => undefined)) === schema) return m.table_schema;
    return null;
  }

  function follow(metaSchema: string) {
    const tick = async () => {
      try {
        const next = await getActiveSchema(db, metaSchema);
        if (next !== undefined && next !== schema && switchTo === undefined && !stopping) {
          logger.info({ from: schema, to: next }, 'read-model schema promoted; switching');
          switchTo = next;
          await messages?.close();
        }
      } catch (err) {
        logger.warn({ err }, 'cannot read the active schema pointer');
      }
      if (!stopping) follower = setTimeout(() => void tick(), settings.followMs ?? 250);
    };
    follower = setTimeout(() => void tick(), settings.followMs ?? 250);
  }

  async function ensureConsumer(startSeq: number) {
    const durable = consumerNameOf(schema);
    const jsm = await jetstreamManager(nc);
    // Up to five batches are in flight at once (read, folded, two being written: batch-pipeline.ts),
    // each acked only after its commit; ten batches of room keep delivery from stalling.
    const maxAckPending = Math.max(5000, settings.batchSize * 10);
    // The checkpoint in Postgres is the truth; the consumer is rebuilt to start right after it,
    // and when it was made with other limits (by an older version, or another batch size).
    const filter = await eventFilterOf(jsm, settings.stream, settings.subjectPrefix);
    contiguous = filter === undefined;
    // Made anew at every start: a projector that lost the lead may still have pulls waiting on
    // the old consumer, and would take messages from under the new leader. Deleting it ends them.
    try {
      await jsm.consumers.delete(settings.stream, durable);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    }
    await jsm.consumers.add(settings.stream, {
      durable_name: durable,
      ack_policy: AckPolicy.All,
      ...(filter === undefined ? {} : { filter_subject: filter }),
      ...(startSeq <= 1
        ? { deliver_policy: DeliverPolicy.All }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }),
      max_ack_pending: maxAckPending,
      ack_wait: 60_000_000_000,
      max_deliver: -1,
    });
  }

  function pipelineOf(target: ProjectionStore): BatchPipeline {
    return createBatchPipeline({
      store: target,
      fold: (input, batch) => foldBatch(input, batch, rule, { contiguous }),
      stopping: () => stopping || lost !== undefined,
      isFinal,
      onRetry: (err, attempt, waitMs) => {
        progress.failure = failureName(err);
        logger.error({ err, attempt, waitMs }, 'batch failed; retrying');
      },
    });
  }
  let pipeline = pipelineOf(store);

  /**
   * Submits a batch in turn (it returns once the batch before it is folded); acks its last message
   * once it is committed.
   */
  async function submit(batch: StreamMessage[], last: JsMsg): Promise<void> {
    const t0 = performance.now();
    const s = await pipeline.submitInTurn(batch);
    s.committed.then(
      (out) => {
        last.ack();
        batches.observe((performance.now() - t0) / 1000);
        applied.inc(out.applied);
        parked.inc(out.deadLetters.length);
        lastSeqGauge.set(out.lastSeq);
        progress.committed = Math.max(progress.committed, out.lastSeq);
        progress.at = Date.now();
        progress.failure = undefined;
        if (out.deadLetters.length > 0)
          logger.warn({ parked: out.deadLetters.map((d) => ({ seq: d.seq, reason: d.reason })) }, 'events parked');
      },
      // The failure reaches the loop through the next submission or the drain.
      () => undefined,
    );
  }

  async function run() {
    const metaSchema = await metaSchemaToFollow();
    if (metaSchema !== null) follow(metaSchema);
    for (let failures = 0; ;) {
      try {
        await runOn();
      } catch (err) {
        // NATS or Postgres failed under it (the stream not there yet, a timeout, a lost
        // connection): start again from the checkpoint after a pause, rather than die.
        if (stopping) return;
        active = false;
        failures += 1;
        // A lost lead is re-contested at once; other failures back off.
        const waitMs = isFinal(err) ? 0 : Math.min(MAX_RESTART_WAIT_MS, 250 * 2 ** Math.min(failures - 1, 6));
        progress.failure = failureName(err);
        logger.error({ err, failures, waitMs }, 'projector failed; starting again from the checkpoint');
        messages?.stop();
        messages = undefined;
        await pipeline.drain().catch(() => undefined);
        pipeline = pipelineOf(store);
        for (const until = Date.now() + waitMs; Date.now() < until && !stopping;) await sleep(100);
        continue;
      }
      failures = 0;
      if (stopping || switchTo === undefined) return;
      // Promotion: leave the old schema (its lock and consumer) and continue on the new one.
      const old = schema;
      await lockClient?.query('select pg_advisory_unlock(hashtext($1))', [`claimtrail-projector:${old}`]);
      const jsm = await jetstreamManager(nc);
      await jsm.consumers.delete(settings.stream, consumerNameOf(old)).catch(() => undefined);
      schema = switchTo;
      switchTo = undefined;
      store = createProjectionStore(db, schema);
      pipeline = pipelineOf(store);
      active = false;
      messages = undefined;
    }
  }

  async function runOn() {
    lost = undefined;
    if (!(await acquireLock())) return;
    if (switchTo !== undefined || stopping) return;
    const epoch = await store.takeLead(holder);
    rule = await store.settleRule(settings.rule);
    if (rule !== settings.rule)
      logger.warn(
        { schema, rule, configured: settings.rule },
        `the read models of ${schema} are folded with ${rule}, stored with them; CLAIMTRAIL_APPROX_RULE=${settings.rule} applies to new schemas only (replay into a new schema to change the rule)`,
      );
    active = true;
    const durable = consumerNameOf(schema);
    const cp = await store.readCheckpoint();
    lastSeqGauge.set(cp.lastSeq);
    progress.committed = progress.delivered = cp.lastSeq;
    progress.at = Date.now();
    await ensureConsumer(cp.lastSeq + 1);
    const js = jetstream(nc);
    const consumer = await js.consumers.get(settings.stream, durable);
    // abort_on_missing_resource: if the consumer (or the stream) is deleted under it, the
    // iterator fails and run() rebuilds the consumer from the checkpoint; nats.js would otherwise
    // wait for someone else to recreate it, and the projector would stop folding without a word.
    // Two batches of messages pulled ahead keep the fold fed (delivery ran at 100,000 messages/s
    // here, the catch-up at 7,000-12,000); four made more of the heap live at every young
    // collection, which then copied it.
    messages = await consumer.consume({ max_messages: settings.batchSize * 2, abort_on_missing_resource: true });
    // A stop or a promotion that came while this was starting: leave at once. `close()` on a
    // consumer that has not pulled yet can wait for ever (seen on nats-server 2.9), so stop the
    // iterator without waiting for the server.
    if (switchTo !== undefined || stopping) {
      messages.stop();
      return;
    }
    logger.info({ schema, epoch, rule, fromSeq: cp.lastSeq + 1, batchSize: settings.batchSize }, 'projector running');
    let batch: StreamMessage[] = [];
    let last: JsMsg | undefined;
    // When to commit: a full batch; or nothing more buffered here and the server says nothing is
    // pending; or nothing more buffered here and the batch has been open for MAX_LINGER_MS.
    // `pending` is not always 0 on the last message a server delivers (seen with filtered
    // consumers on nats-server 2.9), so the linger bound, also enforced by a timer when no
    // message comes, keeps a partial batch from waiting under a steady trickle.
    // Group commit: messages that arrived while the last batch was being written wait in the
    // iterator's buffer (getPending) and all join the next batch, instead of a transaction for
    // each few of them.
    const it = messages[Symbol.asyncIterator]();
    let next: Promise<IteratorResult<JsMsg>> | undefined;
    let linger: Promise<'linger'> | undefined;
    let openedAt = 0;
    // A batch is submitted at once (Postgres starts reading what it needs), and the loop goes on
    // once the batch before it is folded: while this thread folds one batch, the next one is
    // being read and the ones before are being written.
    const flush = async () => {
      const b = batch;
      const l = last;
      batch = [];
      last = undefined;
      linger = undefined;
      if (l) await submit(b, l);
    };
    for (;;) {
      next ??= it.next();
      if (batch.length > 0)
        linger ??= sleep(Math.max(0, MAX_LINGER_MS - (performance.now() - openedAt))).then(() => 'linger' as const);
      const r = linger ? await Promise.race([next, linger]) : await next;
      if (r === 'linger') {
        await flush();
        continue;
      }
      next = undefined;
      if (r.done) break;
      const m = r.value;
      if (batch.length === 0) openedAt = performance.now();
      batch.push(toStreamMessage(m));
      last = m;
      if (m.seq > progress.delivered) progress.delivered = m.seq;
      pendingGauge.set(m.info.pending);
      const drained = messages.getPending() === 0;
      if (
        batch.length >= settings.batchSize ||
        (drained && (m.info.pending === 0 || performance.now() - openedAt >= MAX_LINGER_MS))
      ) {
        await flush();
      }
    }
    // The lock went: nothing more of this run may be committed (the lease fences what is in flight).
    const gone = lostLead();
    if (gone) throw gone;
    // The iterator ended (stop or promotion): finish what was taken.
    await flush();
    await pipeline.drain();
    if (!stopping && switchTo === undefined) throw new Error('the stream consumer ended on its own');
  }

  return {
    /** The store of the schema currently projected into (it changes on promotion). */
    get store() {
      return store;
    },
    /** The read-model schema currently projected into. */
    get schema() {
      return schema;
    },
    /** Starts folding in the background; resolves once started (or standing by). */
    start(): void {
      done = run().catch((err: unknown) => {
        logger.fatal({ err }, 'projector stopped on an error');
        throw err;
      });
    },
    isActive: () => active,
    /**
     * Why this projector is not keeping up, or undefined: it leads, events were delivered past
     * what it committed, and nothing was committed for STALL_MS.
     */
    stalled(now = Date.now()): string | undefined {
      const waiting = progress.delivered - progress.committed;
      if (!active || waiting <= 0 || now - progress.at < (settings.stallMs ?? STALL_MS)) return undefined;
      const idle = Math.round((now - progress.at) / 1000);
      return `projector stalled: ${waiting} delivered events not applied, nothing committed for ${idle} s${progress.failure ? ` (last failure: ${progress.failure})` : ''}`;
    },
    /** Stops pulling, finishes the batch in hand, and returns. */
    async stop(): Promise<void> {
      stopping = true;
      clearTimeout(follower);
      // Bounded: a close that the server never confirms must not block the shutdown.
      if (messages) {
        await Promise.race([messages.close(), sleep(2000)]);
        messages.stop();
      }
      await done?.catch(() => undefined);
      await lockClient?.end().catch(() => undefined);
    },
    get finished() {
      return done;
    },
  };
}
