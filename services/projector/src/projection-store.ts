import { sql, type CompiledQuery, type Kysely } from 'kysely';
import type pg from 'pg';
import {
  poolOf,
  quoteIdent,
  recordsetColumns,
  writtenColumns,
  type Database,
  type ReadModelTable,
} from '@claimtrail/shared/db';
import { copyBuffer } from './copy-text.ts';
import { GENESIS_HASH, sha256Hex } from '@claimtrail/shared/identity';
import {
  idsOfBatch,
  type BatchIds,
  type ClaimVersion,
  type FoldInput,
  type FoldOutput,
  type FoldState,
  type MetricVersion,
  type SourceVersion,
  type StreamMessage,
} from './fold.ts';

const CHECKPOINT = 'projector';
/** The name of the projector's row in `projector_lease`. */
const LEASE = 'projector';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Rows as row_to_json gives them: timestamps as text, numerics as numbers. */
type ClaimRow = Omit<ClaimVersion, 'low' | 'best' | 'high' | 'seq_from' | 'first_seq'> & {
  seq_from: number | string;
  first_seq: number | string;
  low: number | string | null;
  best: number | string | null;
  high: number | string | null;
};
type SourceRow = Omit<SourceVersion, 'seq_from'> & { seq_from: number | string };
type MetricRow = Omit<MetricVersion, 'seq_from'> & { seq_from: number | string };
const MAX_PARAMS = 30_000;

function iso(d: Date | string | null): string | null {
  if (d === null) return null;
  return (d instanceof Date ? d : new Date(d)).toISOString();
}
function num(v: string | number | null): number | null {
  return v === null ? null : Number(v);
}

const ARRAY_SPECIAL = /["\\]/g;

/**
 * A Postgres array literal of `items`, every element quoted (so an empty string or "NULL" stays
 * a string): what node-postgres would send for a JS array, built with one join when no element
 * holds a quote or a backslash. node-postgres quotes and escapes element by element, and the
 * state read of a batch of 1,000 events sends about 2,000 ids: 5.5 % of what the projector
 * allocated during a catch-up (heap sampling), each string for the young collector to sweep.
 */
export function arrayLiteral(items: Iterable<string>): string {
  const list = Array.isArray(items) ? (items as string[]) : [...items];
  if (list.length === 0) return '{}';
  if (!list.some((s) => s.includes('"') || s.includes('\\'))) return `{"${list.join('","')}"}`;
  return `{${list.map((s) => `"${s.replace(ARRAY_SPECIAL, '\\$&')}"`).join(',')}}`;
}

function chunks<T>(rows: T[], cols: number): T[][] {
  const size = Math.max(1, Math.floor(MAX_PARAMS / Math.max(1, cols)));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/** A protocol message's type byte and length (which counts itself and `bodyLength` bytes). */
function messageHeader(type: number, bodyLength: number): Buffer {
  const b = Buffer.allocUnsafe(5);
  b[0] = type;
  b.writeInt32BE(bodyLength + 4, 1);
  return b;
}

/**
 * Several statements, COPY … FROM STDIN among them, sent as one simple query together with the
 * data of every COPY, in order, without waiting for the server to ask for it. Postgres runs the
 * statements one after the other and reads each COPY's data as it comes to it: the whole batch
 * goes in with one round trip, where a COPY at a time took two each (the server's request for the
 * data, then its answer), every one of them waiting for this thread to be free.
 *
 * When a statement fails, Postgres skips the rest of the message and drops the COPY data that
 * follows (the protocol says so for data sent after a failed COPY). The caller rolls back.
 * Handed to `client.query` (a pg Submittable: the client routes the server's messages to it).
 */
export class CopyStatements implements pg.Submittable {
  /** Settles when the server has run every statement (or the first failed). */
  readonly done: Promise<void>;
  readonly text: string;
  readonly data: readonly Buffer[];
  private settle!: (err?: Error) => void;

  constructor(text: string, data: readonly Buffer[]) {
    this.text = text;
    this.data = data;
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = (err) => (err ? reject(err) : resolve());
    });
  }

  /** Query, then CopyData and CopyDone for each COPY: the frontend messages, written at once. */
  submit(connection: pg.Connection): void {
    const socket = connection.stream;
    const text = Buffer.from(`${this.text}\0`, 'utf8');
    socket.cork();
    socket.write(messageHeader(0x51 /* Q */, text.length));
    socket.write(text);
    for (const d of this.data) {
      if (d.length > 0) {
        socket.write(messageHeader(0x64 /* d */, d.length));
        socket.write(d);
      }
      socket.write(messageHeader(0x63 /* c */, 0));
    }
    socket.uncork();
  }

  /**
   * A failed statement, or a lost connection. The client stops routing the server's messages to
   * this on an error (the ReadyForQuery that follows a failed statement goes to no one), so the
   * error settles it.
   */
  handleError(err: Error): void {
    this.settle(err);
  }

  handleReadyForQuery(): void {
    this.settle();
  }

  // The data went with the query; what the server says about each statement needs no answer.
  handleCopyInResponse(): void {}
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}

/** Runs a compiled query and gives its rows: through Kysely, or on a transaction's pg client. */
type Exec = <R = Record<string, unknown>>(q: CompiledQuery) => Promise<R[]>;

function clientExec(client: pg.PoolClient): Exec {
  return async <R>(q: CompiledQuery) => (await client.query(q.sql, q.parameters as unknown[])).rows as R[];
}

// The columns each COPY writes, in the order of the text it sends (names of the fold's row fields).
/**
 * Batches of up to this many events are committed in one statement (writeOneStatement), larger
 * ones with COPY in a transaction. A live projector mostly commits one report's events at a time
 * (11 for a report of 10 claims); at 400 events/s offered, the one-statement write took 14-20 %
 * less of the projector's CPU per event (bench freshness group, A/B).
 */
export const ONE_STATEMENT_EVENTS = 64;

export interface ProjectionStoreOptions {
  /** Largest batch committed in one statement (default ONE_STATEMENT_EVENTS; 0: always COPY). */
  oneStatementEvents?: number;
}

/** A batch the one-statement write can take: small, and no rows for the rare tables. */
function fitsOneStatement(out: FoldOutput, max: number): boolean {
  return (
    out.ledger.length <= max &&
    out.repeats.length === 0 &&
    out.deadLetters.length === 0 &&
    out.sourceVersions.length === 0 &&
    out.sourceCloses.length === 0 &&
    out.metricVersions.length === 0 &&
    out.metricCloses.length === 0 &&
    out.topics.length === 0
  );
}

export interface Checkpoint {
  lastSeq: number;
  chainHash: string;
  knownAt: string | null;
}

/**
 * A batch folded but perhaps not yet committed: a later batch's input takes its checkpoint from
 * here and, for the keys this one touched, its state (rows read from the database may predate it).
 */
export interface Pending extends Checkpoint {
  state: FoldState;
}

/** The checkpoint moved under a write (not the one its batch was folded on); the batch is refolded. */
export class StaleCheckpointError extends Error {}

/**
 * Another projector took the lead of the schema (the lease's epoch is not this store's): nothing
 * this store writes can commit any more, and retrying is pointless.
 */
export class FencedError extends Error {
  constructor(schema: string, mine: number, current: number | null) {
    super(`projector lease of ${schema} is at epoch ${current ?? 'none'}, not ${mine}: another projector leads`);
    this.name = 'FencedError';
  }
}

/** Reads and writes one read-model schema. */
export function createProjectionStore(db: Kysely<Database>, schema: string, o: ProjectionStoreOptions = {}) {
  const pool = poolOf(db);
  const oneStatementEvents = o.oneStatementEvents ?? ONE_STATEMENT_EVENTS;
  /** Commits so far by path (for tests and for the record). */
  const commits = { oneStatement: 0, copy: 0 };
  const dbExec: Exec = async <R>(q: CompiledQuery) => (await db.executeQuery<R>(q)).rows;
  const t = (name: string) => sql.table(`${schema}.${name}`);
  /** The lease epoch this store writes under; undefined: unfenced (a replay into a schema of its own). */
  let epoch: number | undefined;
  /**
   * True while this store's epoch is the lease's. The share lock makes a projector taking the lead
   * (which updates the row) wait for a commit already checking it, and a commit after that update
   * find the new epoch: a commit either precedes the new leader's first read or fails.
   */
  const fence = () =>
    sql`(${epoch ?? null}::bigint is null or exists (select from ${t('projector_lease')} l
      where l.name = ${LEASE} and l.epoch = ${epoch ?? null}::bigint for share of l))`;
  /** Moves the checkpoint from `prev` to `out`'s, under the fence; returns 1 row when it moved. */
  const moveCheckpoint = (out: FoldOutput, prev: Checkpoint) => sql`
        insert into ${t('checkpoint')} as c (name, last_seq, chain_hash, known_at)
        select ${CHECKPOINT}, ${out.lastSeq}::bigint, ${out.chainHash}::text, ${out.knownAt}::timestamptz where ${fence()}
        on conflict (name) do update set last_seq = excluded.last_seq, chain_hash = excluded.chain_hash,
          known_at = excluded.known_at, updated_at = now()
          where c.last_seq = ${prev.lastSeq}::bigint and c.chain_hash = ${prev.chainHash}::text
        returning 1 as moved`;
  async function readCheckpoint(trx: Kysely<Database> = db): Promise<Checkpoint> {
    const row = await trx
      .withSchema(schema)
      .selectFrom('checkpoint')
      .selectAll()
      .where('name', '=', CHECKPOINT)
      .executeTakeFirst();
    return row
      ? { lastSeq: Number(row.last_seq), chainHash: row.chain_hash, knownAt: iso(row.known_at) }
      : { lastSeq: 0, chainHash: GENESIS_HASH, knownAt: null };
  }

  /**
   * An array parameter for `= any(…)` that the planner cannot see into: `(select $1::text[])::text[]`
   * is worked out once when the statement runs (an InitPlan), so the planner takes it for an array
   * of unknown length. Given the array itself, it estimated each of up to 1,000 elements against
   * the column's statistics (1.5-2.4 ms of planning for the state read's three large arrays, in
   * EXPLAIN on a 50k catch-up's read models, against 0.24-0.37), and it chose to read all of
   * `reports` and `dead_letters` for a batch's ids (execution 18-29 ms against 4.7-6.0 with index
   * scans). Its plan no longer depends on the batch's size. In a 50k catch-up's statement log
   * the state read went from 5.9 ms of bind and 11.1 of execution a batch to 3.4 and 7.0.
   */
  function anyOf(literal: string, type: 'text' | 'uuid') {
    return sql`(select ${literal}::${sql.raw(type)}[])::${sql.raw(type)}[]`;
  }

  /**
   * The state a batch needs, in one round trip: the checkpoint, the current version of each
   * claim it touches, parked claims, sources, metrics, event ids already in the ledger, reports.
   * A claim's current version is its newest (highest seq_from), found per claim id on the primary
   * key: `claim_id = any(…) and seq_to is null` let the planner, with the statistics of a table
   * still filling up, scan the whole partial index claim_versions_current (or the table) for
   * every batch, so catch-up slowed down as the read models grew. It is planned for every
   * batch, not prepared: a generic plan made while the read models were small kept scanning
   * whole tables as they grew (docs/decisions/0013-plan-the-state-read-every-batch.md).
   */
  async function loadInput(
    exec: Exec,
    messages: readonly StreamMessage[],
    ids: BatchIds = idsOfBatch(messages),
  ): Promise<FoldInput> {
    const claimIds = arrayLiteral(ids.claimIds);
    const eventIds = arrayLiteral([...ids.eventIds].filter((id) => UUID.test(id)));
    const t = (name: string) => sql.table(`${schema}.${name}`);
    const row = (
      await exec<{
        checkpoint: { last_seq: number; chain_hash: string; known_at: string | null } | null;
        epoch: number | null;
        claims: Record<string, unknown>[];
        parked: { claim_id: string; seq: number }[];
        sources: Record<string, unknown>[];
        metrics: Record<string, unknown>[];
        seen: { event_id: string; seq: number }[];
        reports: string[];
      }>(
        sql`
      select
        (select row_to_json(c) from ${t('checkpoint')} c where c.name = ${CHECKPOINT}) as checkpoint,
        (select l.epoch from ${t('projector_lease')} l where l.name = ${LEASE}) as epoch,
        (select coalesce(json_agg(cv) filter (where cv.seq_to is null), '[]')
           from unnest(${claimIds}::text[]) as k(id)
          cross join lateral (select * from ${t('claim_versions')} v where v.claim_id = k.id
                               order by v.seq_from desc limit 1) cv) as claims,
        (select coalesce(json_agg(json_build_object('claim_id', d.claim_id, 'seq', d.seq)), '[]')
           from (select claim_id, min(seq) as seq from ${t('dead_letters')}
                  where claim_id = any(${anyOf(claimIds, 'text')}) group by claim_id) d) as parked,
        (select coalesce(json_agg(s), '[]') from ${t('sources')} s
          where s.source_id = any(${anyOf(arrayLiteral(ids.sourceIds), 'text')}) and s.seq_to is null) as sources,
        (select coalesce(json_agg(m), '[]') from ${t('metrics')} m
          where m.metric = any(${anyOf(arrayLiteral(ids.metricNames), 'text')}) and m.seq_to is null) as metrics,
        (select coalesce(json_agg(json_build_object('event_id', e.event_id, 'seq', e.seq)), '[]') from ${t('event_ledger')} e
          where e.event_id = any(${anyOf(eventIds, 'uuid')})) as seen,
        (select coalesce(json_agg(r.report_id), '[]') from ${t('reports')} r
          where r.report_id = any(${anyOf(arrayLiteral(ids.reportIds), 'text')})) as reports`.compile(db),
      )
    )[0]!;
    if (epoch !== undefined && (row.epoch === null ? null : Number(row.epoch)) !== epoch)
      throw new FencedError(schema, epoch, row.epoch === null ? null : Number(row.epoch));
    const cp = row.checkpoint;
    const claims = new Map<string, ClaimVersion>();
    for (const r of row.claims as unknown as ClaimRow[]) {
      // Every column as stored (a column added to the registry comes along), with the
      // conversions JSON needs: numbers for bigint and numeric, ISO text for timestamps.
      claims.set(r.claim_id, {
        ...r,
        seq_from: Number(r.seq_from),
        seq_to: null,
        known_from: iso(r.known_from)!,
        known_to: null,
        low: num(r.low),
        best: num(r.best),
        high: num(r.high),
        stated_from: iso(r.stated_from)!,
        stated_to: iso(r.stated_to)!,
        valid_from_at: iso(r.valid_from_at)!,
        valid_to_at: iso(r.valid_to_at)!,
        first_seq: Number(r.first_seq),
        recorded_at: iso(r.recorded_at)!,
      });
    }
    const sources = new Map<string, SourceVersion>(
      (row.sources as unknown as SourceRow[]).map((r) => [
        r.source_id,
        {
          source_id: r.source_id,
          seq_from: Number(r.seq_from),
          seq_to: null,
          known_from: iso(r.known_from)!,
          known_to: null,
          name: r.name,
          kind: r.kind,
          country: r.country,
        },
      ]),
    );
    const metrics = new Map<string, MetricVersion>(
      (row.metrics as unknown as MetricRow[]).map((r) => [
        r.metric,
        {
          metric: r.metric,
          seq_from: Number(r.seq_from),
          seq_to: null,
          known_from: iso(r.known_from)!,
          known_to: null,
          label: r.label,
          unit: r.unit,
          aggregation: r.aggregation,
          composed_of: r.composed_of,
        },
      ]),
    );
    return {
      lastSeq: cp ? Number(cp.last_seq) : 0,
      chainHash: cp ? cp.chain_hash : GENESIS_HASH,
      knownAt: cp ? iso(cp.known_at) : null,
      claims,
      sources,
      metrics,
      parked: new Map(row.parked.map((r) => [r.claim_id, Number(r.seq)])),
      seenEventIds: new Map(row.seen.map((r) => [r.event_id, Number(r.seq)] as const)),
      reports: new Set(row.reports),
    };
  }

  async function insert<T extends object>(exec: Exec, table: keyof Database, rows: T[]) {
    if (rows.length === 0) return;
    const cols = Object.keys(rows[0]!).length;
    for (const part of chunks(rows, cols))
      await exec(
        db
          .withSchema(schema)
          .insertInto(table as 'event_ledger')
          .values(part as never)
          .compile(),
      );
  }

  async function closeVersions(
    exec: Exec,
    table: 'sources' | 'metrics',
    key: 'source_id' | 'metric',
    closes: { key: string; seq_from: number; seq_to: number; known_to: string }[],
  ) {
    if (closes.length === 0) return;
    await exec(
      sql`
      update ${sql.table(`${schema}.${table}`)} as t
         set seq_to = x.seq_to, known_to = x.known_to
        from (select unnest(${closes.map((c) => c.key)}::text[]) as k,
                     unnest(${closes.map((c) => c.seq_from)}::bigint[]) as seq_from,
                     unnest(${closes.map((c) => c.seq_to)}::bigint[]) as seq_to,
                     unnest(${closes.map((c) => c.known_to)}::timestamptz[]) as known_to) as x
       where t.${sql.ref(key)} = x.k and t.seq_from = x.seq_from`.compile(db),
    );
  }

  /**
   * The COPY statements of a batch's new rows (tables with none are left out), and their data.
   * `begin` puts BEGIN first, so that the transaction needs no round trip of its own.
   */
  function copiesOf(out: FoldOutput, begin: boolean): CopyStatements {
    const statements: string[] = begin ? ['begin'] : [];
    const data: Buffer[] = [];
    const add = (table: ReadModelTable, rows: object[]) => {
      if (rows.length === 0) return;
      const columns = writtenColumns(table);
      statements.push(`copy ${quoteIdent(schema)}.${quoteIdent(table)} (${columns.join(', ')}) from stdin`);
      data.push(copyBuffer(rows as Record<string, unknown>[], columns));
    };
    add('event_ledger', out.ledger);
    add('reports', out.reports);
    add('claim_versions', out.claimVersions);
    add('claim_citations', out.citations);
    add('claim_revisions', out.revisions);
    return new CopyStatements(statements.join(';\n'), data);
  }

  /**
   * Writes a batch on one client, inside its transaction (`begin`: this write begins it). The
   * tables every batch fills (ledger, reports, claim versions, citations, revisions) go in with
   * COPY: Postgres spent half of a batch's write turning JSON into rows when they went in
   * through json_to_recordset. Their COPY statements go in one message with all their data, in
   * one round trip (CopyStatements). Closes of claim versions and the checkpoint go in one
   * statement after them; the rare tables (repeats, dead letters, sources, metrics) keep plain
   * inserts, run only when the batch has rows for them.
   */
  async function write(
    client: pg.PoolClient,
    out: FoldOutput,
    prev: Checkpoint,
    after: Promise<unknown> | undefined,
    begin: boolean,
  ): Promise<void> {
    const exec = clientExec(client);
    await client.query(copiesOf(out, begin)).done;
    await insert(exec, 'event_repeats', out.repeats);
    await insert(exec, 'dead_letters', out.deadLetters);
    await insert(exec, 'sources', out.sourceVersions);
    await insert(exec, 'metrics', out.metricVersions);
    await insert(exec, 'topics', out.topics);
    // Everything above is new rows, which no other batch's transaction touches. What follows
    // reads and changes rows that the batch before may have written, so it waits for that batch
    // to be committed: this statement's snapshot then holds its rows, and its checkpoint is prev.
    if (after) await after;
    await closeVersions(
      exec,
      'sources',
      'source_id',
      out.sourceCloses.map((c) => ({ ...c, key: c.source_id })),
    );
    await closeVersions(
      exec,
      'metrics',
      'metric',
      out.metricCloses.map((c) => ({ ...c, key: c.metric })),
    );
    const t = (name: string) => sql.table(`${schema}.${name}`);
    const moved = await exec<{ moved: number }>(
      sql`
      with
      closes as (
        update ${t('claim_versions')} as cv set seq_to = x.seq_to, known_to = x.known_to
          from json_to_recordset(${JSON.stringify(out.claimCloses)}::json) as x(claim_id text, seq_from bigint, seq_to bigint, known_to timestamptz)
         where cv.claim_id = x.claim_id and cv.seq_from = x.seq_from),
      checkpoint as (${moveCheckpoint(out, prev)})
      select count(*)::int as moved from checkpoint`.compile(db),
    );
    // The checkpoint is not where this batch was folded from (a write whose outcome was lost, or
    // another writer), or the lease is another projector's: roll back; the caller refolds from
    // what is stored, and loadInput tells a lost lease apart.
    if (moved[0]?.moved !== 1) throw new StaleCheckpointError(`checkpoint of ${schema} is not at seq ${prev.lastSeq}`);
  }

  /**
   * A small batch (what a live projector mostly commits: one report's events) in one statement,
   * one round trip, no BEGIN/COMMIT: the rows come in as JSON and every insert and close runs
   * only if the checkpoint moves, so a stale checkpoint writes nothing. The statement is
   * prepared once per connection (its text depends only on the schema), so Postgres does not
   * parse and plan its seven parts for every batch. Only for batches with no rows for the rare
   * tables (repeats, dead letters, sources, metrics). The COPY path takes nine round trips for
   * the same batch; JSON costs Postgres more per row than COPY, so large batches keep COPY.
   * The caller waits for the batch before to be committed first: the closes change its rows.
   */
  let oneStatement = { sql: '', name: '' };
  async function writeOneStatement(out: FoldOutput, prev: Checkpoint): Promise<void> {
    const json = (rows: unknown[]) => (rows.length === 0 ? '[]' : JSON.stringify(rows));
    // The rows of one table as JSON, inserted only if the checkpoint moved (the statement's
    // `checkpoint` part); columns and their types come from the table registry.
    const insertRecordset = (table: ReadModelTable, rows: unknown[]) => sql`
        insert into ${t(table)} (${sql.raw(writtenColumns(table).join(', '))})
        select x.* from json_to_recordset(${json(rows)}::json) as x(${sql.raw(recordsetColumns(table))})
         where exists (select from checkpoint)`;
    const q = sql<{ moved: number }>`
      with
      checkpoint as (${moveCheckpoint(out, prev)}),
      ledger as (${insertRecordset('event_ledger', out.ledger)}),
      reports as (${insertRecordset('reports', out.reports)}),
      closes as (
        update ${t('claim_versions')} as cv set seq_to = x.seq_to, known_to = x.known_to
          from json_to_recordset(${json(out.claimCloses)}::json) as x(claim_id text, seq_from bigint, seq_to bigint, known_to timestamptz)
         where cv.claim_id = x.claim_id and cv.seq_from = x.seq_from and exists (select from checkpoint)),
      versions as (${insertRecordset('claim_versions', out.claimVersions)}),
      citations as (${insertRecordset('claim_citations', out.citations)}),
      revisions as (${insertRecordset('claim_revisions', out.revisions)})
      select count(*)::int as moved from checkpoint`.compile(db);
    // Prepared under a name derived from its text, which depends only on the schema: Postgres
    // parses and plans it once per connection. The name is hashed once, not for every batch.
    if (q.sql !== oneStatement.sql)
      oneStatement = { sql: q.sql, name: `claimtrail_write_${sha256Hex(q.sql).slice(0, 16)}` };
    const r = await pool.query<{ moved: number }>({
      name: oneStatement.name,
      text: q.sql,
      values: q.parameters as unknown[],
    });
    if (r.rows[0]?.moved !== 1) throw new StaleCheckpointError(`checkpoint of ${schema} is not at seq ${prev.lastSeq}`);
  }

  /**
   * Runs `work` in a transaction on a client of its own (COPY needs the client itself). With
   * `begins`, the first statement `work` sends is BEGIN (see write), else it is sent here first.
   */
  async function inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>, begins = false): Promise<T> {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      if (!begins) await client.query('begin');
      const result = await work(client);
      await client.query('commit');
      return result;
    } catch (err) {
      await client.query('rollback').catch((e: unknown) => (broken = e as Error));
      throw err;
    } finally {
      // A client whose rollback failed is in an unknown state: closed, not reused.
      client.release(broken);
    }
  }

  return {
    schema,
    commits,
    readCheckpoint: () => readCheckpoint(),
    /**
     * Takes the lead of the schema: moves the lease to a new epoch, which fences every projector
     * (this process's earlier runs included) that wrote under an older one. From here on every
     * commit of this store checks the epoch, and every read of a batch's input fails with
     * FencedError once another projector took the lead. The caller holds the election lock.
     */
    async takeLead(holder: string): Promise<number> {
      const r = await sql<{ epoch: number }>`
        insert into ${t('projector_lease')} as l (name, epoch, holder) values (${LEASE}, 1, ${holder})
        on conflict (name) do update set epoch = l.epoch + 1, holder = excluded.holder, taken_at = now()
        returning epoch`.execute(db);
      epoch = Number(r.rows[0]!.epoch);
      return epoch;
    },
    /**
     * The normalisation rule the schema is folded with: the stored one, or `configured`, stored
     * now, when the schema has none yet (a fresh schema's first fold).
     */
    async settleRule(configured: string): Promise<string> {
      await sql`insert into ${t('fold_rule')} (rule) values (${configured}) on conflict do nothing`.execute(db);
      const r = await sql<{ rule: string }>`select rule from ${t('fold_rule')}`.execute(db);
      return r.rows[0]!.rule;
    },
    /** The epoch this store writes under (undefined until takeLead). */
    get epoch() {
      return epoch;
    },
    /**
     * Applies a batch in one transaction: read models, verbatim ledger rows with their chain
     * hashes, and the checkpoint. Messages at or below the checkpoint are skipped.
     */
    async applyBatch(messages: readonly StreamMessage[], fold: (input: FoldInput) => FoldOutput): Promise<FoldOutput> {
      return inTransaction(async (client) => {
        const input = await loadInput(clientExec(client), messages);
        const out = fold(input);
        if (out.lastSeq > input.lastSeq) await write(client, out, input, undefined, false);
        return out;
      });
    },
    /**
     * The input of a batch as stored, read outside any transaction (batches folded but not yet
     * committed are laid over it by the caller: overlayPending in batch-pipeline.ts).
     */
    loadInput: (messages: readonly StreamMessage[], ids?: BatchIds) => loadInput(dbExec, messages, ids),
    /**
     * Writes a folded batch in one transaction, if the checkpoint is still `prev` (else
     * StaleCheckpointError). With `after` (the commit of the batch before), its new rows go in at
     * once and the rest waits for `after`: two batches are written at the same time. A small
     * batch waits for `after` and then goes in as one statement (writeOneStatement).
     */
    async commit(out: FoldOutput, prev: Checkpoint, after?: Promise<unknown>): Promise<void> {
      if (out.lastSeq <= prev.lastSeq) {
        await after;
        return;
      }
      if (fitsOneStatement(out, oneStatementEvents)) {
        await after;
        await writeOneStatement(out, prev);
        commits.oneStatement += 1;
        return;
      }
      await inTransaction((client) => write(client, out, prev, after, true), true);
      commits.copy += 1;
    },
  };
}
export type ProjectionStore = ReturnType<typeof createProjectionStore>;
