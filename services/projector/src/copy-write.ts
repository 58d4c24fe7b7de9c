import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import { quoteIdent, writtenColumns, type Database, type ReadModelTable } from '@claimtrail/shared/db';
import { copyBuffer } from './copy-text.ts';
import { CopyStatements } from './copy-statements.ts';
import type { Checkpoint, CheckpointLease } from './checkpoint-lease.ts';
import { clientExec, type Exec } from './statement-runner.ts';
import type { FoldOutput } from './fold-rows.ts';

const MAX_PARAMS = 30_000;

function chunks<T>(rows: T[], cols: number): T[][] {
  const size = Math.max(1, Math.floor(MAX_PARAMS / Math.max(1, cols)));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/**
 * The write of a batch of any size, on one client inside its transaction. The tables every
 * batch fills (ledger, reports, claim versions, citations, revisions) go in with COPY: Postgres
 * spent half of a batch's write turning JSON into rows when they went in through
 * json_to_recordset. Their COPY statements go in one message with all their data, in one round
 * trip (CopyStatements). Closes of claim versions and the checkpoint go in one statement after
 * them; the rare tables (repeats, dead letters, sources, metrics) keep plain inserts, run only
 * when the batch has rows for them.
 */
export function createCopyWrite(
  db: Kysely<Database>,
  schema: string,
  lease: Pick<CheckpointLease, 'moveCheckpoint' | 'assertMoved'>,
) {
  const t = (name: string) => sql.table(`${schema}.${name}`);

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
   * Writes a batch on one client, inside its transaction (`begin`: this write begins it). With
   * `after` (the commit of the batch before), the new rows go in at once and what reads or
   * changes rows that batch may have written waits for it.
   */
  return async function write(
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
    const moved = await exec<{ moved: number }>(
      sql`
      with
      closes as (
        update ${t('claim_versions')} as cv set seq_to = x.seq_to, known_to = x.known_to
          from json_to_recordset(${JSON.stringify(out.claimCloses)}::json) as x(claim_id text, seq_from bigint, seq_to bigint, known_to timestamptz)
         where cv.claim_id = x.claim_id and cv.seq_from = x.seq_from),
      checkpoint as (${lease.moveCheckpoint(out, prev)})
      select count(*)::int as moved from checkpoint`.compile(db),
    );
    // The checkpoint is not where this batch was folded from (a write whose outcome was lost, or
    // another writer), or the lease is another projector's: roll back; the caller refolds from
    // what is stored, and loadInput tells a lost lease apart.
    lease.assertMoved(moved[0]?.moved, prev);
  };
}
export type CopyWrite = ReturnType<typeof createCopyWrite>;
