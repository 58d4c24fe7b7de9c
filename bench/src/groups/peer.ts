// the peer. Emmett's PostgreSQL event store (@event-driven-io/emmett-postgresql
// 0.42, a dev dependency of bench only) on the same Postgres, in this run's own database, appending
// the same claim events as the raw figures — one stream per claim (`claim-<claimId>`), ~90 % new
// claims (ClaimRecorded), ~5 % corrections (ClaimCorrected) and ~5 % echoes (ClaimCited) — with an
// inline projection (postgreSQLRawSQLProjection, run in the append's transaction) that upserts
// the latest estimate per (topic, metric, source). One appendToStream call per event, as a
// command handler would; measured with 1 client and with 8 concurrent clients.
import { projections, type Event, type ReadEvent } from '@event-driven-io/emmett';
import {
  getPostgreSQLEventStore,
  postgreSQLRawSQLProjection,
  type PostgresEventStore,
  type PostgresReadEventMetadata,
} from '@event-driven-io/emmett-postgresql';
import { sql } from '@event-driven-io/dumbo';
import type { BenchContext } from '../context.ts';
import { generateClaimEvents, type ClaimData } from '../events.ts';

type ClaimRecorded = Event<'ClaimRecorded', ClaimData>;
type ClaimCorrected = Event<'ClaimCorrected', ClaimData>;
type ClaimCited = Event<'ClaimCited', ClaimData>;
type ClaimEvent = ClaimRecorded | ClaimCorrected | ClaimCited;

export const LATEST_ESTIMATE_DDL = `CREATE TABLE IF NOT EXISTS latest_estimate (
  topic text NOT NULL,
  metric text NOT NULL,
  source_id text NOT NULL,
  claim_id text NOT NULL,
  amount numeric NOT NULL,
  low numeric,
  high numeric,
  stated_at timestamptz NOT NULL,
  global_position bigint NOT NULL,
  PRIMARY KEY (topic, metric, source_id)
)`;

/** Latest estimate per (topic, metric, source): the citing source for an echo. */
export const latestEstimateProjection = postgreSQLRawSQLProjection<ClaimEvent>({
  name: 'latest_estimate',
  canHandle: ['ClaimRecorded', 'ClaimCorrected', 'ClaimCited'],
  evolve: (event) => {
    const e = event as ReadEvent<ClaimEvent, PostgresReadEventMetadata>;
    const d = e.data;
    return sql(
      `INSERT INTO latest_estimate (topic, metric, source_id, claim_id, amount, low, high, stated_at, global_position)
       VALUES (%L, %L, %L, %L, %s, %s, %s, %L, %s)
       ON CONFLICT (topic, metric, source_id) DO UPDATE SET
         claim_id = EXCLUDED.claim_id, amount = EXCLUDED.amount, low = EXCLUDED.low, high = EXCLUDED.high,
         stated_at = EXCLUDED.stated_at, global_position = EXCLUDED.global_position
       WHERE latest_estimate.stated_at <= EXCLUDED.stated_at`,
      d.topic,
      d.metric,
      d.sourceId,
      d.claimId,
      d.value.amount,
      d.value.low,
      d.value.high,
      d.statedAt,
      String(e.metadata.globalPosition),
    );
  },
});

export function peerCount(quick: boolean): number {
  return quick ? 1_000 : 5_000;
}

export async function runPeer(ctx: BenchContext): Promise<void> {
  const n = peerCount(ctx.quick);
  const url = await ctx.databaseUrl();
  const pool = await ctx.pool(1);
  await pool.query(LATEST_ESTIMATE_DDL);

  const store: PostgresEventStore = getPostgreSQLEventStore(url, {
    projections: projections.inline([latestEstimateProjection]),
    schema: { autoMigration: 'CreateOrUpdate' },
  });
  ctx.onCleanup('close Emmett event store', () => store.close());
  await store.schema.migrate();

  const events = generateClaimEvents(n, { seed: 7 }).map((g) => ({
    stream: `claim-${g.event.data.claimId}`,
    event: { type: g.event.type, data: g.event.data },
  }));
  const types = { ClaimRecorded: 0, ClaimCorrected: 0, ClaimCited: 0 };
  for (const e of events) types[e.event.type]++;
  ctx.results.notes.push(
    `peer: Emmett ${n} events a rep = ${types.ClaimRecorded} ClaimRecorded, ${types.ClaimCorrected} ClaimCorrected, ${types.ClaimCited} ClaimCited`,
  );

  let conflicts = 0;
  const append = async (i: number) => {
    const e = events[i]!;
    // With several clients a correction can race its own claim's first append: both see the
    // stream absent, one gets a unique violation that Emmett reports as a version conflict.
    for (let attempt = 0; ; attempt++) {
      try {
        await store.appendToStream(e.stream, [e.event]);
        return;
      } catch (err) {
        if (attempt >= 5 || !(err instanceof Error) || !/version|concurrency/i.test(`${err.name} ${err.message}`))
          throw err;
        conflicts++;
      }
    }
  };

  const reset = async () => {
    await store.schema.dangerous.truncate({ resetSequences: true, truncateProjections: true });
    await pool.query('TRUNCATE latest_estimate');
  };

  for (const clients of [1, 8]) {
    await ctx.measure(
      `peer.emmett.append-project.c${clients}`,
      async () => {
        let next = 0;
        const worker = async () => {
          while (next < n) await append(next++);
        };
        await Promise.all(Array.from({ length: clients }, worker));
        return n;
      },
      {
        setup: reset,
        note: `${n} events, one appendToStream per event (stream per claim), inline postgreSQLRawSQLProjection upserting latest_estimate per (topic, metric, source), ${clients} concurrent client(s), Emmett's default pool`,
      },
    );
  }
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM latest_estimate');
  ctx.log(`latest_estimate holds ${rows[0]?.n} rows; ${conflicts} append retries after version conflicts`);
  if (Number(rows[0]?.n) === 0) throw new Error('the inline projection wrote nothing');
  ctx.results.notes.push(`peer: ${conflicts} append retries after version conflicts (8 clients)`);
}
