// The rows behind the topic summary: every claim version of a topic, each with the claim that stands
// in its group and its place in that group's order (supersession.sql.ts, the rule the history
// follows too), and every metric definition visible at the context's instant. The analysis itself
// is in summary.ts (pure, unit-tested).
import { sql, type Kysely } from 'kysely';
import type { Database } from '@claimtrail/shared/db';
import type { ClaimValue } from '@claimtrail/shared/events';
import { claimCounts, statedWithin, visibleAt, type ReadContext } from './read-context.ts';
import { aggregationOf, standingClaim, standingRank } from './supersession.sql.ts';
import type { MetricDef, SummaryClaim } from './summary.ts';

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const ms = (v: unknown): number => (v instanceof Date ? v : new Date(String(v))).getTime();

interface ClaimRow {
  claim_id: string;
  metric: string;
  unit: string;
  source_id: string;
  source_name: string | null;
  source_kind: string | null;
  source_country: string | null;
  value: ClaimValue;
  low: string | null;
  best: string | null;
  high: string | null;
  stated_at: string;
  stated_from: Date;
  valid_from: string;
  valid_to: string;
  valid_from_at: Date;
  valid_to_at: Date;
  status: string;
  first_seq: number;
  recorded_at: Date;
  quote: string | null;
  report_id: string;
  standing: string;
  standing_rank: number;
}

export async function loadSummaryRows(
  db: Kysely<Database>,
  ctx: ReadContext,
  topic: string,
): Promise<{ claims: SummaryClaim[]; defs: MetricDef[] }> {
  // Looked up once a row (offset 0 keeps the planner from copying the lookup into each use).
  const aggregation = sql<string>`ag.aggregation`;
  const claims = await sql<ClaimRow>`
    select cv.claim_id, cv.metric, cv.unit, cv.source_id, s.name as source_name, s.kind as source_kind, s.country as source_country,
           cv.value, cv.low, cv.best, cv.high, cv.stated_at, cv.stated_from, cv.valid_from, cv.valid_to, cv.valid_from_at, cv.valid_to_at,
           cv.status, cv.first_seq, cv.recorded_at, cv.quote, cv.report_id,
           ${standingClaim('cv', aggregation)} as standing, ${standingRank('cv', aggregation)} as standing_rank
      from ${sql.table(`${ctx.schema}.claim_versions`)} cv
     cross join lateral (select ${aggregationOf(ctx, sql`cv.metric`)} as aggregation offset 0) ag
      left join ${sql.table(`${ctx.schema}.sources`)} s on s.source_id = cv.source_id and ${visibleAt(ctx, 's')}
     where cv.topic = ${topic} and ${visibleAt(ctx, 'cv')} and ${claimCounts(ctx, 'cv')} and ${statedWithin(ctx, 'cv')}
     order by cv.metric, cv.source_id, cv.stated_from, cv.first_seq`.execute(db);
  const defs = await sql<{
    metric: string;
    label: string;
    unit: string;
    aggregation: string;
    composed_of: string[] | null;
  }>`
    select m.metric, m.label, m.unit, m.aggregation, m.composed_of
      from ${sql.table(`${ctx.schema}.metrics`)} m
     where ${visibleAt(ctx, 'm')}`.execute(db);
  return {
    claims: claims.rows.map((r) => ({
      claimId: r.claim_id,
      metric: r.metric,
      unit: r.unit,
      source: {
        id: r.source_id,
        ...(r.source_name === null ? {} : { name: r.source_name }),
        ...(r.source_kind === null ? {} : { kind: r.source_kind }),
        ...(r.source_country === null ? {} : { country: r.source_country }),
      },
      value: r.value,
      low: num(r.low),
      best: num(r.best),
      high: num(r.high),
      statedAt: r.stated_at,
      statedFrom: ms(r.stated_from),
      validFrom: r.valid_from,
      validTo: r.valid_to,
      validFromAt: ms(r.valid_from_at),
      validToAt: ms(r.valid_to_at),
      status: r.status as SummaryClaim['status'],
      seq: Number(r.first_seq),
      recordedAt: new Date(ms(r.recorded_at)).toISOString(),
      ...(r.quote === null ? {} : { quote: r.quote }),
      reportId: r.report_id,
      standing: r.standing,
      standingRank: Number(r.standing_rank),
    })),
    defs: defs.rows.map((d) => ({
      metric: d.metric,
      label: d.label,
      unit: d.unit,
      aggregation: d.aggregation,
      composedOf: d.composed_of,
    })),
  };
}
