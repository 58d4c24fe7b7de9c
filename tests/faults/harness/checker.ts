import type { FaultWorld } from './fault-world.ts';
import { until } from './fault-world.ts';
import { tail } from './service-process.ts';

export interface AckedClaim {
  claimId: string;
  topic: string;
  quote: string;
}

/** What the checks after a fault found. Every list empty and every flag true is a pass. */
export interface CheckOutcome {
  /** The projector's checkpoint reached the stream's last seq within the bound. */
  caughtUp: boolean;
  checkpoint: number;
  streamLastSeq: number;
  /** When the checkpoint reached the last seq (epoch ms), if it did. */
  caughtUpAt?: number;
  /** Acknowledged claims with no current version in Postgres. */
  lost: string[];
  /** Acknowledged claims with more than one current version, or recorded more than once in the ledger. */
  duplicated: string[];
  /** Seqs or event ids that appear more than once in the ledger. */
  ledgerRepeats: number;
  /** Acknowledged claims the query API did not answer 200 with as posted (id: what it answered). */
  api: Record<string, string>;
  deadLetters: { seq: number; claimId: string | null; reason: string }[];
  /** Processes that exited when no fault or teardown stopped them. */
  died: { name: string; code: number | null; signal: string | null; log: string }[];
  audit: { code: number; summary: string };
}

/** The end of a log without stack frames: what the process said before it exited. */
function lastWords(log: string): string {
  return tail(
    tail(log, 60)
      .split('\n')
      .filter((l) => !/^\s+at /.test(l))
      .join('\n'),
    10,
  );
}

async function mapLimit<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * The checks every fault ends with: the projector catches up with the stream (bounded wait);
 * every acknowledged claim has exactly one current version and one ClaimRecorded in Postgres and is
 * answered by `GET /v1/claims/{id}` as posted; the ledger repeats no seq or event id; no process
 * died that the fault did not stop; `claimtrail audit verify` exits 0.
 */
export async function checkAfterFault(
  world: FaultWorld,
  acked: AckedClaim[],
  o: { catchUpMs?: number; expectedQuote?: Map<string, string> } = {},
): Promise<CheckOutcome> {
  let checkpoint = 0;
  let streamLastSeq = -1;
  // No projector left running: nothing can catch up, so the wait ends at once.
  const noProjector = () => world.projectors.every((p) => p.exit !== undefined);
  const caughtUp = await until(
    async () => {
      streamLastSeq = await world.streamLastSeq();
      checkpoint = await world.checkpoint();
      return checkpoint >= streamLastSeq;
    },
    o.catchUpMs ?? 90_000,
    250,
    noProjector,
  );
  const caughtUpAt = caughtUp ? Date.now() : undefined;

  const schema = await world.readModelSchema();
  const ids = acked.map((a) => a.claimId);
  const versions = await world.pool.query<{ claim_id: string; current: number }>(
    `select claim_id, count(*) filter (where seq_to is null)::int as current
       from ${schema}.claim_versions where claim_id = any($1) group by claim_id`,
    [ids],
  );
  const current = new Map(versions.rows.map((r) => [r.claim_id, r.current]));
  const recorded = await world.pool.query<{ claim_id: string; n: number }>(
    `select claim_id, count(*)::int as n from ${schema}.event_ledger
      where type = 'ClaimRecorded' and claim_id = any($1) group by claim_id`,
    [ids],
  );
  const recordings = new Map(recorded.rows.map((r) => [r.claim_id, r.n]));
  const lost = ids.filter((id) => (current.get(id) ?? 0) === 0);
  const duplicated = ids.filter((id) => (current.get(id) ?? 0) > 1 || (recordings.get(id) ?? 0) > 1);
  const repeats = await world.pool.query<{ n: number }>(
    `select (select count(*) from (select seq from ${schema}.event_ledger group by seq having count(*) > 1) s)::int
          + (select count(*) from (select event_id from ${schema}.event_ledger where event_id is not null
                                    group by event_id having count(*) > 1) e)::int as n`,
  );
  const dead = await world.pool.query<{ seq: string; claim_id: string | null; reason: string }>(
    `select seq, claim_id, reason from ${schema}.dead_letters order by seq`,
  );

  const api: Record<string, string> = {};
  await mapLimit(acked, 8, async (a) => {
    try {
      const res = await fetch(`${world.queryUrl}/v1/claims/${a.claimId}`, {
        headers: { authorization: `Bearer ${world.token}` },
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json().catch(() => undefined)) as
        { claim?: { quote?: string }; reports?: { echo: boolean }[] } | undefined;
      const quote = o.expectedQuote?.get(a.claimId) ?? a.quote;
      if (res.status !== 200) api[a.claimId] = `status ${res.status}`;
      else if (body?.claim?.quote !== quote) api[a.claimId] = `quote ${JSON.stringify(body?.claim?.quote)}`;
      else if (body.reports?.length !== 1) api[a.claimId] = `${body.reports?.length} reports`;
    } catch (err) {
      api[a.claimId] = (err as Error).message;
    }
  });

  const died = world
    .processes()
    .filter((p) => p.exit !== undefined && !p.expectedExit)
    .map((p) => ({ name: p.name, code: p.exit!.code, signal: p.exit!.signal, log: lastWords(p.log()) }));

  const audit = await world.cli(['audit', 'verify'], 180_000);
  const summary = `${audit.stdout}${audit.stderr}`
    .split('\n')
    .filter((l) => /^(audit verify|\[ok\]|\[FAIL\]|claimtrail:)/.test(l) || /^\s+seq \d+/.test(l))
    .slice(0, 12)
    .join('\n');
  return {
    caughtUp,
    checkpoint,
    streamLastSeq,
    ...(caughtUpAt === undefined ? {} : { caughtUpAt }),
    lost,
    duplicated,
    ledgerRepeats: repeats.rows[0]?.n ?? 0,
    api,
    deadLetters: dead.rows.map((r) => ({ seq: Number(r.seq), claimId: r.claim_id, reason: r.reason.slice(0, 200) })),
    died,
    audit: { code: audit.code, summary },
  };
}
