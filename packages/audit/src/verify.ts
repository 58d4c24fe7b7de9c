import { createChainWalker, linkHolds } from '@claimtrail/shared/chain';
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { getActiveSchema, metaSchemaOf, quoteIdent, type Database } from '@claimtrail/shared/db';
import { GENESIS_HASH } from '@claimtrail/shared/identity';
import { DEFAULT_RULE } from '@claimtrail/shared/events';
import { AuditError } from './audit-error.ts';
import { createProgress, type ProgressSink } from './progress.ts';
import { compareTable, READ_MODEL_TABLES, type TableComparison } from './read-model-diff.ts';
import { runReplay, type ReplayDeps } from './replay.ts';
import { readStream, streamBounds } from './stream-reader.ts';
import { parkedEvents, repeatedEvents, type ParkedEvent, type RepeatedEvent } from './set-aside.ts';

export interface VerifyOptions {
  fromSeq?: number;
  /** The rule of the replay; default: the one the live read models are folded with (stored with them). */
  rule?: string;
  batchSize: number;
  /** Step 3 (replay into a scratch schema and compare); on by default. */
  replay?: boolean;
  keepScratch?: boolean;
  /** How many differences of each check to list (counts are always complete). */
  maxDifferences?: number;
  /** Parked events fail the verdict instead of being a warning. */
  failOnParked?: boolean;
  progress?: { sink?: ProgressSink; quiet?: boolean };
}

export interface Difference {
  seq: number;
  kind:
    | 'chain-mismatch'
    | 'ledger-chain-broken'
    | 'missing-from-ledger'
    | 'missing-from-stream'
    | 'changed'
    | 'subject-changed'
    | 'out-of-order'
    | 'repeat-mismatch'
    | 'repeat-in-ledger';
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  /**
   * `holds`: every check passed and nothing is parked; `holds-with-parked`: every check passed
   * but events sit unapplied in dead_letters; `failed`: a check failed (parked events too, with
   * failOnParked).
   */
  verdict: 'holds' | 'holds-with-parked' | 'failed';
  stream: { name: string; firstSeq: number; lastSeq: number };
  liveSchema: string;
  checkpoint: { lastSeq: number; chainHash: string };
  fromSeq: number;
  chain: {
    ok: boolean;
    recomputed: number;
    mismatches: number;
    firstMismatchSeq: number | null;
    finalHash: string;
    differences: Difference[];
  };
  ledger: {
    ok: boolean;
    compared: number;
    missingFromLedger: number;
    missingFromStream: number;
    changed: number;
    outOfOrder: number;
    brokenLinks: number;
    other: number;
    /** Stream events past the checkpoint: not yet projected, not an error. */
    notYetProjected: number;
    differences: Difference[];
  };
  readModels:
    | {
        ok: boolean;
        skipped: false;
        scratchSchema: string;
        atSeq: number;
        replayChainHash: string;
        tables: TableComparison[];
      }
    | { ok: true; skipped: true; reason: string };
  /** Every event the live schema holds as parked (not applied), whatever `fromSeq` is. */
  parked: { ok: boolean; failOnParked: boolean; count: number; events: ParkedEvent[] };
  /** Every stream message the live schema recorded as a repeat of an earlier event (not applied again). */
  repeats: { count: number; events: RepeatedEvent[] };
}

interface LedgerRow {
  seq: number;
  subject: string;
  event_id: string | null;
  payload: string;
  chain_hash: string;
}

function eventIdOf(payload: string): string | undefined {
  try {
    const id = (JSON.parse(payload) as { eventId?: unknown }).eventId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

function typeOf(payload: string): string {
  try {
    const t = (JSON.parse(payload) as { type?: unknown }).type;
    return typeof t === 'string' ? t : 'an unreadable event';
  } catch {
    return 'a non-JSON payload';
  }
}

/** Ledger rows in seq order, a page at a time (keyset pagination: memory stays flat). */
async function* ledgerRows(
  db: Kysely<Database>,
  schema: string,
  fromSeq: number,
  pageSize = 1000,
): AsyncGenerator<LedgerRow> {
  let cursor = fromSeq;
  for (;;) {
    const page = await db
      .withSchema(schema)
      .selectFrom('event_ledger')
      .select(['seq', 'subject', 'event_id', 'payload', 'chain_hash'])
      .where(sql<boolean>`seq >= ${cursor}`)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const r of page)
      yield {
        seq: Number(r.seq),
        subject: r.subject,
        event_id: r.event_id,
        payload: r.payload,
        chain_hash: r.chain_hash,
      };
    if (page.length < pageSize) return;
    cursor = Number(page[page.length - 1]!.seq) + 1;
  }
}

/** event_repeats rows in seq order, a page at a time. */
async function* repeatRows(
  db: Kysely<Database>,
  schema: string,
  fromSeq: number,
  pageSize = 1000,
): AsyncGenerator<{ seq: number; eventId: string }> {
  let cursor = fromSeq;
  for (;;) {
    const page = await db
      .withSchema(schema)
      .selectFrom('event_repeats')
      .select(['seq', 'event_id'])
      .where(sql<boolean>`seq >= ${cursor}`)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const r of page) yield { seq: Number(r.seq), eventId: r.event_id };
    if (page.length < pageSize) return;
    cursor = Number(page[page.length - 1]!.seq) + 1;
  }
}

/**
 * `claimtrail audit verify`: (1) recomputes the chain hash of every event from the stream,
 * (2) compares the stream with the ledger seq by seq, (3) replays into a scratch schema and
 * compares every read-model table with the live one. Streams both sides; never loads them.
 */
export async function runVerify(deps: ReplayDeps, o: VerifyOptions): Promise<VerifyReport> {
  const { db } = deps;
  const max = o.maxDifferences ?? 10;
  const fromSeq = Math.max(1, o.fromSeq ?? 1);
  const live = await getActiveSchema(db, metaSchemaOf(deps.baseSchema));
  if (!live)
    throw new AuditError(
      `the database has no live read-model schema (CLAIMTRAIL_SCHEMA=${deps.baseSchema}); run \`claimtrail migrate\` first`,
    );
  const cpRow = await db
    .withSchema(live)
    .selectFrom('checkpoint')
    .select(['last_seq', 'chain_hash'])
    .where('name', '=', 'projector')
    .executeTakeFirst();
  const checkpoint = { lastSeq: cpRow ? Number(cpRow.last_seq) : 0, chainHash: cpRow?.chain_hash ?? GENESIS_HASH };
  const bounds = await streamBounds(deps.nc, deps.stream);
  const endSeq = bounds.lastSeq;

  // Repeats are merged in seq order like the ledger, a page at a time (never loaded whole).
  const repeatIt = repeatRows(db, live, fromSeq);
  let nextRepeat = await repeatIt.next();
  const repeatAt = async (seq: number): Promise<string | undefined> => {
    while (!nextRepeat.done && nextRepeat.value.seq < seq) nextRepeat = await repeatIt.next();
    return !nextRepeat.done && nextRepeat.value.seq === seq ? nextRepeat.value.eventId : undefined;
  };
  const anchor =
    fromSeq <= 1
      ? undefined
      : await db
          .withSchema(live)
          .selectFrom('event_ledger')
          .select(['chain_hash'])
          .where(sql<boolean>`seq < ${fromSeq}`)
          .orderBy('seq', 'desc')
          .limit(1)
          .executeTakeFirst();
  let streamChain = anchor?.chain_hash ?? GENESIS_HASH;
  const streamWalker = createChainWalker(streamChain);
  let ledgerPrev = streamChain;

  const chain: VerifyReport['chain'] = {
    ok: true,
    recomputed: 0,
    mismatches: 0,
    firstMismatchSeq: null,
    finalHash: streamChain,
    differences: [],
  };
  const ledger: VerifyReport['ledger'] = {
    ok: true,
    compared: 0,
    missingFromLedger: 0,
    missingFromStream: 0,
    changed: 0,
    outOfOrder: 0,
    brokenLinks: 0,
    other: 0,
    notYetProjected: 0,
    differences: [],
  };
  const note = (d: Difference) => {
    if (ledger.differences.length < max) ledger.differences.push(d);
  };
  // Events whose bytes differ at a seq, by event id, to tell reordering from change (bounded).
  const changedStream = new Map<string, number>();
  const changedLedger: { seq: number; eventId: string }[] = [];
  const suffix = (subject: string, prefix: string) =>
    subject.startsWith(`${prefix}.`) ? subject.slice(prefix.length + 1) : subject;
  const liveSubjectPrefix = deps.ledgerSubjectPrefix ?? deps.subjectPrefix;

  const ledgerIt = ledgerRows(db, live, fromSeq);
  let next = await ledgerIt.next();
  const ledgerLink = (r: LedgerRow) => {
    // The ledger's own chain: each stored hash must follow from the previous row and its payload.
    if (!linkHolds(ledgerPrev, r.payload, r.chain_hash)) {
      ledger.brokenLinks += 1;
      note({
        seq: r.seq,
        kind: 'ledger-chain-broken',
        detail: `the ledger's chain hash at seq ${r.seq} does not follow from the previous ledger row and its payload`,
      });
    }
    ledgerPrev = r.chain_hash;
  };
  const missingFromStream = (r: LedgerRow) => {
    ledger.missingFromStream += 1;
    note({
      seq: r.seq,
      kind: 'missing-from-stream',
      detail: `seq ${r.seq} is in the ledger (${typeOf(r.payload)} ${r.event_id ?? ''}) but not in the stream`,
    });
    ledgerLink(r);
  };

  const progress = createProgress('verify: stream vs ledger', Math.max(0, endSeq - fromSeq + 1), o.progress ?? {});
  for await (const batch of readStream(deps.nc, {
    stream: deps.stream,
    subjectPrefix: deps.subjectPrefix,
    fromSeq,
    toSeq: endSeq,
    batchSize: o.batchSize,
  })) {
    for (const m of batch) {
      while (!next.done && next.value.seq < m.seq) {
        missingFromStream(next.value);
        next = await ledgerIt.next();
      }
      const row = !next.done && next.value.seq === m.seq ? next.value : undefined;
      const repeatOf = await repeatAt(m.seq);
      if (repeatOf !== undefined) {
        if (eventIdOf(m.payload) !== repeatOf) {
          ledger.other += 1;
          note({
            seq: m.seq,
            kind: 'repeat-mismatch',
            detail: `event_repeats says seq ${m.seq} repeats ${repeatOf}, but the stream holds ${eventIdOf(m.payload) ?? 'another event'}`,
          });
        }
        if (row) {
          ledger.other += 1;
          note({
            seq: m.seq,
            kind: 'repeat-in-ledger',
            detail: `seq ${m.seq} is listed as a repeat and also in the ledger`,
          });
        }
      } else {
        streamChain = streamWalker.step(m.payload);
        chain.recomputed += 1;
        if (row) {
          if (row.chain_hash !== streamChain) {
            chain.mismatches += 1;
            chain.firstMismatchSeq ??= m.seq;
            if (chain.differences.length < max) {
              chain.differences.push({
                seq: m.seq,
                kind: 'chain-mismatch',
                detail: `the chain hash recomputed from the stream at seq ${m.seq} is ${streamChain.slice(0, 16)}…, the ledger has ${row.chain_hash.slice(0, 16)}…`,
              });
            }
          }
        } else if (m.seq <= checkpoint.lastSeq) {
          ledger.missingFromLedger += 1;
          note({
            seq: m.seq,
            kind: 'missing-from-ledger',
            detail: `seq ${m.seq} (${typeOf(m.payload)} ${eventIdOf(m.payload) ?? ''}) is in the stream but not in the ledger`,
          });
        } else ledger.notYetProjected += 1;
      }
      if (row) {
        ledger.compared += 1;
        if (row.payload !== m.payload) {
          ledger.changed += 1;
          const sid = eventIdOf(m.payload);
          const lid = row.event_id ?? eventIdOf(row.payload);
          if (sid && changedStream.size < 100_000) changedStream.set(sid, m.seq);
          if (lid && changedLedger.length < 100_000) changedLedger.push({ seq: m.seq, eventId: lid });
          note({
            seq: m.seq,
            kind: 'changed',
            detail: `seq ${m.seq}: the ledger's bytes differ from the stream's (${typeOf(row.payload)} ${lid ?? ''} vs ${typeOf(m.payload)} ${sid ?? ''})`,
          });
        } else if (suffix(row.subject, liveSubjectPrefix) !== suffix(m.subject, deps.subjectPrefix)) {
          ledger.other += 1;
          note({
            seq: m.seq,
            kind: 'subject-changed',
            detail: `seq ${m.seq}: the ledger's subject ${row.subject} differs from the stream's ${m.subject}`,
          });
        }
        ledgerLink(row);
        next = await ledgerIt.next();
      }
    }
    progress.update(batch[batch.length - 1]!.seq - fromSeq + 1);
  }
  while (!next.done) {
    missingFromStream(next.value);
    next = await ledgerIt.next();
  }
  progress.finish();
  chain.finalHash = streamChain;
  // Reordering: the event the ledger holds at one seq is the one the stream has at another.
  for (const l of changedLedger) {
    const at = changedStream.get(l.eventId);
    if (at !== undefined && at !== l.seq) {
      ledger.outOfOrder += 1;
      note({
        seq: l.seq,
        kind: 'out-of-order',
        detail: `the ledger holds at seq ${l.seq} the event ${l.eventId} that the stream has at seq ${at}`,
      });
    }
  }
  ledger.differences.sort((a, b) => a.seq - b.seq);
  chain.ok = chain.mismatches === 0;
  ledger.ok =
    ledger.missingFromLedger +
      ledger.missingFromStream +
      ledger.changed +
      ledger.outOfOrder +
      ledger.brokenLinks +
      ledger.other ===
    0;

  let readModels: VerifyReport['readModels'];
  if (o.replay === false) readModels = { ok: true, skipped: true, reason: 'skipped by --no-replay' };
  else if (checkpoint.lastSeq === 0) readModels = { ok: true, skipped: true, reason: 'nothing projected yet' };
  else {
    const scratch = `${deps.baseSchema}_verify_${randomBytes(4).toString('hex')}`.slice(0, 63);
    try {
      const r = await runReplay(deps, {
        into: scratch,
        toSeq: checkpoint.lastSeq,
        rule: o.rule ?? (await liveRule(db, live)),
        batchSize: o.batchSize,
        progress: { ...o.progress, label: 'verify: replay' },
      });
      const tables: TableComparison[] = [];
      for (const t of READ_MODEL_TABLES) tables.push(await compareTable(db, live, scratch, t, checkpoint.lastSeq, max));
      readModels = {
        ok: tables.every((t) => t.differing === 0) && r.lastSeq === checkpoint.lastSeq,
        skipped: false,
        scratchSchema: scratch,
        atSeq: checkpoint.lastSeq,
        replayChainHash: r.chainHash,
        tables,
      };
    } finally {
      if (!o.keepScratch) await sql`drop schema if exists ${sql.raw(quoteIdent(scratch))} cascade`.execute(db);
    }
  }
  const parkedList = await parkedEvents(db, live);
  const repeatList = await repeatedEvents(db, live);
  const failOnParked = o.failOnParked ?? false;
  const parked = {
    ok: !failOnParked || parkedList.length === 0,
    failOnParked,
    count: parkedList.length,
    events: parkedList,
  };
  const ok = chain.ok && ledger.ok && readModels.ok && parked.ok;
  return {
    ok,
    verdict: !ok ? 'failed' : parked.count > 0 ? 'holds-with-parked' : 'holds',
    stream: { name: deps.stream, firstSeq: bounds.firstSeq, lastSeq: endSeq },
    liveSchema: live,
    checkpoint,
    fromSeq,
    chain,
    ledger,
    readModels,
    parked,
    repeats: { count: repeatList.length, events: repeatList },
  };
}

/** The rule the live read models are folded with (stored with them by their first fold). */
async function liveRule(db: Kysely<Database>, live: string): Promise<string> {
  const r = await sql<{ rule: string }>`select rule from ${sql.table(`${live}.fold_rule`)}`.execute(db);
  return r.rows[0]?.rule ?? DEFAULT_RULE;
}
