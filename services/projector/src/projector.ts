import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { Registry } from 'prom-client';
import type { Database } from '@claimtrail/shared/db';
import type { Logger } from '@claimtrail/shared';
import { foldBatch, SeqGapError } from './fold.ts';
import type { StreamMessage } from './stream-message.ts';
import { createProjectionStore, FencedError, type ProjectionStore } from './projection-store.ts';
import { createBatchPipeline, type BatchPipeline } from './batch-pipeline.ts';
import { createLeaderElection, LeadershipLostError } from './leader-election.ts';
import { followPromotion, metaSchemaToFollow } from './promotion-follower.ts';
import { consumeInBatches, consumerNameOf, openConsumer } from './consumer-loop.ts';
import { createProjectorMetrics } from './projector-metrics.ts';
import { createProjectorProgress } from './projector-progress.ts';

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

/** The longest pause between two starts after failures (Postgres or NATS away): resumes soon after they return. */
const MAX_RESTART_WAIT_MS = 5000;

/** Failures a batch retry cannot mend: the run ends and starts again from the checkpoint, re-elected. */
function isFinal(err: unknown): boolean {
  return err instanceof FencedError || err instanceof SeqGapError || err instanceof LeadershipLostError;
}

/**
 * The projector: one durable pull consumer over the whole stream (consumer-loop.ts), batches
 * folded into one Postgres transaction each (batch-pipeline.ts), acked after commit. A Postgres
 * advisory lock elects one active projector per read-model schema (leader-election.ts); a second
 * one waits as a standby. A promoted replay is followed (promotion-follower.ts).
 */
export function createProjector(deps: ProjectorDeps) {
  const { nc, db, logger, settings } = deps;
  let schema = settings.schema;
  let store = createProjectionStore(db, schema);
  const metrics = createProjectorMetrics(deps.registry);
  const progress = createProjectorProgress(settings.stallMs);

  let messages: ConsumerMessages | undefined;
  let stopping = false;
  let done: Promise<void> | undefined;
  let switchTo: string | undefined;
  let follower: { stop(): void } | undefined;
  /** Every stream seq is an event (no subject filter): the fold refuses gaps. */
  let contiguous = false;
  /** The rule the schema is folded with (stored with it: settleRule). */
  let rule = settings.rule;
  const election = createLeaderElection({
    databaseUrl: settings.databaseUrl,
    logger,
    stopping: () => stopping,
    onLost: () => messages?.stop(),
  });

  function pipelineOf(target: ProjectionStore): BatchPipeline {
    return createBatchPipeline({
      store: target,
      fold: (input, batch) => foldBatch(input, batch, rule, { contiguous }),
      stopping: () => stopping || election.lost() !== undefined,
      isFinal,
      onRetry: (err, attempt, waitMs) => {
        progress.failed(err);
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
        metrics.committed(out, (performance.now() - t0) / 1000);
        progress.committed(out.lastSeq);
        if (out.deadLetters.length > 0)
          logger.warn({ parked: out.deadLetters.map((d) => ({ seq: d.seq, reason: d.reason })) }, 'events parked');
      },
      // The failure reaches the loop through the next submission or the drain.
      () => undefined,
    );
  }

  async function run() {
    const metaSchema = await metaSchemaToFollow(db, schema, settings.metaSchema);
    if (metaSchema !== null)
      follower = followPromotion({
        db,
        metaSchema,
        logger,
        everyMs: settings.followMs ?? 250,
        current: () => schema,
        stopping: () => stopping,
        promoted: async (next) => {
          if (switchTo !== undefined || stopping) return;
          logger.info({ from: schema, to: next }, 'read-model schema promoted; switching');
          switchTo = next;
          await messages?.close();
        },
      });
    for (let failures = 0; ;) {
      try {
        await runOn();
      } catch (err) {
        // NATS or Postgres failed under it (the stream not there yet, a timeout, a lost
        // connection): start again from the checkpoint after a pause, rather than die.
        if (stopping) return;
        election.standDown();
        failures += 1;
        // A lost lead is re-contested at once; other failures back off.
        const waitMs = isFinal(err) ? 0 : Math.min(MAX_RESTART_WAIT_MS, 250 * 2 ** Math.min(failures - 1, 6));
        progress.failed(err);
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
      await election.release();
      const jsm = await jetstreamManager(nc);
      await jsm.consumers.delete(settings.stream, consumerNameOf(old)).catch(() => undefined);
      schema = switchTo;
      switchTo = undefined;
      store = createProjectionStore(db, schema);
      pipeline = pipelineOf(store);
      election.standDown();
      messages = undefined;
    }
  }

  async function runOn() {
    if (!(await election.acquire(schema))) return;
    if (switchTo !== undefined || stopping) return;
    const epoch = await store.takeLead(election.holder);
    rule = await store.settleRule(settings.rule);
    if (rule !== settings.rule)
      logger.warn(
        { schema, rule, configured: settings.rule },
        `the read models of ${schema} are folded with ${rule}, stored with them; CLAIMTRAIL_APPROX_RULE=${settings.rule} applies to new schemas only (replay into a new schema to change the rule)`,
      );
    election.lead();
    const cp = await store.readCheckpoint();
    metrics.startedAt(cp.lastSeq);
    progress.startAt(cp.lastSeq);
    const consumer = await openConsumer(nc, settings, schema, cp.lastSeq + 1);
    contiguous = consumer.contiguous;
    messages = consumer.messages;
    // A stop or a promotion that came while this was starting: leave at once. `close()` on a
    // consumer that has not pulled yet can wait for ever (seen on nats-server 2.9), so stop the
    // iterator without waiting for the server.
    if (switchTo !== undefined || stopping) {
      messages.stop();
      return;
    }
    logger.info({ schema, epoch, rule, fromSeq: cp.lastSeq + 1, batchSize: settings.batchSize }, 'projector running');
    const rest = await consumeInBatches(messages, {
      batchSize: settings.batchSize,
      submit,
      delivered: (m) => {
        progress.delivered(m.seq);
        metrics.pending(m.info.pending);
      },
    });
    // The lock went: nothing more of this run may be committed (the lease fences what is in flight).
    const gone = election.lost();
    if (gone) throw gone;
    // The iterator ended (stop or promotion): finish what was taken.
    if (rest.last) await submit(rest.batch, rest.last);
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
    isActive: () => election.leading,
    /**
     * Why this projector is not keeping up, or undefined: it leads, events were delivered past
     * what it committed, and nothing was committed for STALL_MS.
     */
    stalled(now = Date.now()): string | undefined {
      return election.leading ? progress.stalled(now) : undefined;
    },
    /** Stops pulling, finishes the batch in hand, and returns. */
    async stop(): Promise<void> {
      stopping = true;
      follower?.stop();
      // Bounded: a close that the server never confirms must not block the shutdown.
      if (messages) {
        await Promise.race([messages.close(), sleep(2000)]);
        messages.stop();
      }
      await done?.catch(() => undefined);
      await election.close();
    },
    get finished() {
      return done;
    },
  };
}
