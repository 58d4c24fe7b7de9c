import { sql, type Kysely } from 'kysely';
import type { NatsConnection } from '@nats-io/transport-node';
import { getActiveSchema, metaSchemaOf, migrateReadModel, type Database } from '@claimtrail/shared/db';
import { DEFAULT_RULE, getNormalisationRule } from '@claimtrail/shared/events';
import {
  createBatchPipeline,
  createProjectionStore,
  foldBatch,
  schemaLockKey,
  type StreamMessage,
} from '@claimtrail/projector';
import { AuditError } from './audit-error.ts';
import { createProgress, type ProgressSink } from './progress.ts';
import { readStream, streamBounds } from './stream-reader.ts';
import { promoteSchema } from './promote.ts';

export const SCHEMA_NAME_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export interface ReplayDeps {
  db: Kysely<Database>;
  nc: NatsConnection;
  stream: string;
  subjectPrefix: string;
  /** Base (meta) schema name, `CLAIMTRAIL_SCHEMA`. */
  baseSchema: string;
  /** The subject prefix the ledger was written with, when the stream read now uses another. */
  ledgerSubjectPrefix?: string;
}

export interface ReplayOptions {
  into: string;
  toSeq?: number;
  /** ISO instant: fold only what was known at that instant. */
  toTime?: string;
  promote?: boolean;
  /**
   * The normalisation rule. A schema keeps the rule it was first folded with: a resumed replay
   * folds with it, and a rule named here that differs is refused. Unset: `defaultRule`.
   */
  rule?: string;
  /** The rule of a fresh schema when `rule` is not named (CLAIMTRAIL_APPROX_RULE; default DEFAULT_RULE). */
  defaultRule?: string;
  batchSize: number;
  progress?: { sink?: ProgressSink; quiet?: boolean; label?: string };
}

export interface ReplayResult {
  schema: string;
  rule: string;
  resumedFromSeq: number;
  lastSeq: number;
  chainHash: string;
  /** Stream messages folded by this run (repeats included). */
  folded: number;
  parked: number;
  stoppedBy: 'end' | 'to-seq' | 'to-time';
  elapsedMs: number;
  eventsPerSecond: number;
  promoted?: { from: string | null; to: string; at: string };
}

function recordedAtOf(m: StreamMessage): string {
  try {
    const r = (JSON.parse(m.payload) as { recordedAt?: unknown }).recordedAt;
    if (typeof r === 'string') {
      const d = new Date(r);
      if (!Number.isNaN(d.getTime())) return d.toISOString();
    }
  } catch {
    // not JSON: the projector uses the store time too
  }
  return m.time;
}

/**
 * Folds the stream from seq 1 (or from the schema's own checkpoint, when a replay is resumed)
 * into a read-model schema with the projector's own fold and store. Memory stays bounded: the
 * stream is read in batches through an ordered consumer. Usable from the bench as well.
 */
export async function runReplay(deps: ReplayDeps, o: ReplayOptions): Promise<ReplayResult> {
  const { db } = deps;
  if (!SCHEMA_NAME_RE.test(o.into))
    throw new AuditError(
      `--into ${JSON.stringify(o.into)}: must be a lower-case Postgres identifier (a-z, 0-9, _; 1..63)`,
      { usage: true },
    );
  if (o.into === metaSchemaOf(deps.baseSchema))
    throw new AuditError(`--into ${o.into}: that is the meta schema (CLAIMTRAIL_SCHEMA); pick another name`, {
      usage: true,
    });
  for (const r of [o.rule, o.defaultRule])
    if (r !== undefined && !getNormalisationRule(r))
      throw new AuditError(`unknown normalisation rule ${JSON.stringify(r)} (set CLAIMTRAIL_APPROX_RULE or --rule)`, {
        usage: true,
      });
  if (o.promote && (o.toSeq !== undefined || o.toTime !== undefined)) {
    throw new AuditError(
      '--promote needs a replay to the end of the stream: drop --to-seq/--to-time (the live projector would fold the rest at once)',
      { usage: true },
    );
  }
  const toTime = o.toTime === undefined ? undefined : new Date(o.toTime);
  if (toTime && Number.isNaN(toTime.getTime()))
    throw new AuditError(`--to-time ${JSON.stringify(o.toTime)}: not an RFC 3339 instant`, { usage: true });
  const active = await getActiveSchema(db, metaSchemaOf(deps.baseSchema));
  if (active === o.into)
    throw new AuditError(
      `--into ${o.into}: that is the live read-model schema; replay into a fresh schema and --promote it`,
      { usage: true },
    );

  const migrated = await migrateReadModel(db, o.into);
  if (migrated.error)
    throw new AuditError(
      `cannot migrate schema ${o.into}: ${migrated.error instanceof Error ? migrated.error.message : JSON.stringify(migrated.error)}`,
    );

  return db.connection().execute(async (lockConn) => {
    const got = await sql<{
      ok: boolean;
    }>`select pg_try_advisory_lock(hashtext(${schemaLockKey(o.into)})) as ok`.execute(lockConn);
    if (!got.rows[0]?.ok)
      throw new AuditError(
        `schema ${o.into} is being written by another replay or projector; try again when it is done`,
      );
    try {
      return await replayLocked(deps, o, toTime?.toISOString());
    } finally {
      await sql`select pg_advisory_unlock(hashtext(${schemaLockKey(o.into)}))`.execute(lockConn);
    }
  });
}

async function replayLocked(deps: ReplayDeps, o: ReplayOptions, toTime: string | undefined): Promise<ReplayResult> {
  const store = createProjectionStore(deps.db, o.into);
  const rule = await store.settleRule(o.rule ?? o.defaultRule ?? DEFAULT_RULE);
  if (o.rule !== undefined && rule !== o.rule)
    throw new AuditError(
      `schema ${o.into} is folded with ${rule}; it cannot take ${o.rule} as well: replay into a fresh schema for that rule`,
      { usage: true },
    );
  const started = performance.now();
  const cp = await store.readCheckpoint();
  let lastSeq = cp.lastSeq;
  let chain = cp.chainHash;
  let knownMax = cp.knownAt;
  let folded = 0;
  let parked = 0;
  let stoppedBy: ReplayResult['stoppedBy'] = 'end';
  const bounds = await streamBounds(deps.nc, deps.stream);
  let target = o.toSeq === undefined ? bounds.lastSeq : Math.min(o.toSeq, bounds.lastSeq);
  if (o.toSeq !== undefined) stoppedBy = 'to-seq';
  const progress = createProgress(
    o.progress?.label ?? `replay ${o.into}`,
    Math.max(0, target - cp.lastSeq),
    o.progress ?? {},
  );

  // The projector's pipeline (createBatchPipeline): a batch is read while the one before it is
  // folded and earlier ones are written; a batch that fails to commit is refolded from what is
  // stored, three times at most, then the replay fails.
  const pipeline = createBatchPipeline({
    store,
    fold: (input, batch) => foldBatch(input, batch, rule),
    stopping: () => true,
  });
  const fold = async (batch: StreamMessage[]) => {
    const submitted = await pipeline.submitInTurn(batch);
    submitted.committed.then(
      (out) => {
        folded += batch.filter((m) => m.seq > lastSeq).length;
        parked += out.deadLetters.length;
        lastSeq = out.lastSeq;
        chain = out.chainHash;
        progress.update(lastSeq - cp.lastSeq);
      },
      () => undefined,
    );
  };

  // A promotion catches up with events that arrived during the replay, a few rounds at most.
  for (let round = 0; round < (o.promote ? 5 : 1); round += 1) {
    let timeReached = false;
    for await (let batch of readStream(deps.nc, {
      stream: deps.stream,
      subjectPrefix: deps.subjectPrefix,
      fromSeq: lastSeq + 1,
      toSeq: target,
      batchSize: o.batchSize,
    })) {
      if (toTime !== undefined) {
        // The fold's knownAt is the running maximum of recordedAt: stop where it passes the instant.
        const cut = batch.findIndex((m) => {
          const r = recordedAtOf(m);
          if (knownMax === null || r > knownMax) knownMax = r;
          return knownMax > toTime;
        });
        if (cut >= 0) {
          batch = batch.slice(0, cut);
          timeReached = true;
        }
      }
      if (batch.length > 0) await fold(batch);
      if (timeReached) break;
    }
    await pipeline.drain();
    if (toTime !== undefined) stoppedBy = timeReached || lastSeq < target ? 'to-time' : 'end';
    if (!o.promote) break;
    const now = await streamBounds(deps.nc, deps.stream);
    if (now.lastSeq <= lastSeq) break;
    target = now.lastSeq;
    progress.setTotal(target - cp.lastSeq);
  }
  let promoted: ReplayResult['promoted'];
  if (o.promote) promoted = await promoteSchema(deps.db, deps.baseSchema, o.into);
  const elapsedMs = performance.now() - started;
  progress.finish(promoted ? `promoted ${o.into} (was ${promoted.from ?? 'unset'})` : `checkpoint at seq ${lastSeq}`);
  return {
    schema: o.into,
    rule,
    resumedFromSeq: cp.lastSeq,
    lastSeq,
    chainHash: chain,
    folded,
    parked,
    stoppedBy,
    elapsedMs,
    eventsPerSecond: elapsedMs > 0 ? Math.round((folded / elapsedMs) * 1000) : 0,
    ...(promoted ? { promoted } : {}),
  };
}
