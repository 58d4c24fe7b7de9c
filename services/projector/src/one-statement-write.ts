import { sql, type Kysely } from 'kysely';
import { poolOf, recordsetColumns, writtenColumns, type Database, type ReadModelTable } from '@claimtrail/shared/db';
import { sha256Hex } from '@claimtrail/shared/identity';
import type { Checkpoint, CheckpointLease } from './checkpoint-lease.ts';
import type { FoldOutput } from './fold-rows.ts';

/**
 * Batches of up to this many events are committed in one statement (writeOneStatement), larger
 * ones with COPY in a transaction. A live projector mostly commits one report's events at a time
 * (11 for a report of 10 claims); at 400 events/s offered, the one-statement write took 14-20 %
 * less of the projector's CPU per event (bench freshness group, A/B).
 */
export const ONE_STATEMENT_EVENTS = 64;

/** A batch the one-statement write can take: small, and no rows for the rare tables. */
export function fitsOneStatement(out: FoldOutput, max: number): boolean {
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

/**
 * A small batch (what a live projector mostly commits: one report's events) in one statement,
 * one round trip, no BEGIN/COMMIT: the rows come in as JSON and every insert and close runs
 * only if the checkpoint moves, so a stale checkpoint writes nothing. The statement is
 * prepared once per connection (its text depends only on the schema), so Postgres does not
 * parse and plan its seven parts for every batch. Only for batches with no rows for the rare
 * tables (repeats, dead letters, sources, metrics: fitsOneStatement). The COPY path takes nine
 * round trips for the same batch; JSON costs Postgres more per row than COPY, so large batches
 * keep COPY. The caller waits for the batch before to be committed first: the closes change
 * its rows.
 */
export function createOneStatementWrite(
  db: Kysely<Database>,
  schema: string,
  lease: Pick<CheckpointLease, 'moveCheckpoint' | 'assertMoved'>,
) {
  const pool = poolOf(db);
  const t = (name: string) => sql.table(`${schema}.${name}`);
  let oneStatement = { sql: '', name: '' };
  return async function writeOneStatement(out: FoldOutput, prev: Checkpoint): Promise<void> {
    const json = (rows: unknown[]) => (rows.length === 0 ? '[]' : JSON.stringify(rows));
    // The rows of one table as JSON, inserted only if the checkpoint moved (the statement's
    // `checkpoint` part); columns and their types come from the table registry.
    const insertRecordset = (table: ReadModelTable, rows: unknown[]) => sql`
        insert into ${t(table)} (${sql.raw(writtenColumns(table).join(', '))})
        select x.* from json_to_recordset(${json(rows)}::json) as x(${sql.raw(recordsetColumns(table))})
         where exists (select from checkpoint)`;
    const q = sql<{ moved: number }>`
      with
      checkpoint as (${lease.moveCheckpoint(out, prev)}),
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
    lease.assertMoved(r.rows[0]?.moved, prev);
  };
}
