import { sql, type Kysely } from 'kysely';
import type { Database } from '@claimtrail/shared/db';
import type { ClaimStatus } from '@claimtrail/shared/contract';
import type { AGGREGATIONS, CONFIDENCE_LEVELS, ClaimValue } from '@claimtrail/shared/events';
import { claimCounts, reportCounts, statedWithin, visibleAt, type ReadContext } from './read-context.ts';
import { aggregationOf, standingClaim } from './supersession.sql.ts';

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const isoOf = (v: unknown): string => (v instanceof Date ? v : new Date(String(v))).toISOString();

export interface ReportRef {
  reportId: string;
  url: string;
  publisher: string;
  publishedAt: string;
  title?: string;
  kind?: string;
}

/** A hop of a claim's attribution chain, named as the hop names it or as its source is registered. */
interface ViaHop {
  id: string;
  role: string;
  name?: string;
}

/** A claim_revisions row as json_build_object gives it (timestamps as text). */
interface RevisionJson {
  seq: number;
  type: string;
  recorded_at: string;
  actor: string;
  changes: unknown;
  reason: string | null;
  retracted_by: string | null;
  report_id: string | null;
  before: unknown;
}
/** A citation with its report, as the queries give it (a row, or json_build_object in claim). */
interface CitationRow {
  seq: number;
  echo: boolean;
  quote: string | null;
  report_id: string;
  url: string;
  publisher: string;
  published_at: string;
  title: string | null;
  kind: string | null;
}
type Citation = ReportRef & { seq: number; echo: boolean; quote: string | null };

/** A citation's report as the answers give it, from a row's report columns. */
function reportRefOf(
  reportId: string,
  r: { url: string; publisher: string; published_at: string; title: string | null; kind: string | null },
): ReportRef {
  return {
    reportId,
    url: r.url,
    publisher: r.publisher,
    publishedAt: r.published_at,
    ...(r.title === null ? {} : { title: r.title }),
    ...(r.kind === null ? {} : { kind: r.kind }),
  };
}

function citationOf(r: CitationRow): Citation {
  return {
    ...reportRefOf(r.report_id, r),
    seq: Number(r.seq),
    echo: r.echo,
    quote: r.quote,
  };
}

interface PointRow {
  claim_id: string;
  seq_from: number;
  topic: string;
  metric: string;
  source_id: string;
  unit: string;
  value: ClaimValue;
  low: string | null;
  best: string | null;
  high: string | null;
  rule: string;
  stated_at: string;
  stated_from: Date;
  valid_from: string;
  valid_to: string;
  quote: string | null;
  via: ViaHop[];
  status: string;
  first_seq: number;
  recorded_at: Date;
  confidence: (typeof CONFIDENCE_LEVELS)[number] | null;
  likelihood: string | null;
  note: string | null;
  corrected: boolean;
  /** The claim that stands in its group (supersession.sql.ts); the claim's own id when it stands. */
  standing: string;
  source_name: string | null;
  source_kind: string | null;
  source_country: string | null;
}

/** What a point is made of: a claim-version row (recorded_at as a Date, or as toISOString's text). */
type PointFields = Pick<
  PointRow,
  'claim_id' | 'stated_at' | 'valid_from' | 'valid_to' | 'value' | 'low' | 'best' | 'high' | 'rule' | 'status'
> &
  Pick<PointRow, 'first_seq' | 'quote' | 'via' | 'confidence' | 'likelihood' | 'note' | 'corrected' | 'standing'> & {
    recorded_at: Date | string;
  };

/** A history row: a point, its source, and one of its citations' report (all null without one). */
type HistoryRow = PointFields &
  Pick<PointRow, 'source_id' | 'unit' | 'source_name' | 'source_kind' | 'source_country'> & {
    recorded_at: string;
    report_id: string | null;
    url: string;
    publisher: string;
    published_at: string;
    title: string | null;
    kind: string | null;
  };

function sourceRef(r: {
  source_id: string;
  source_name: string | null;
  source_kind: string | null;
  source_country: string | null;
}) {
  return {
    id: r.source_id,
    ...(r.source_name === null ? {} : { name: r.source_name }),
    ...(r.source_kind === null ? {} : { kind: r.source_kind }),
    ...(r.source_country === null ? {} : { country: r.source_country }),
  };
}

interface MetricRow {
  metric: string;
  label: string;
  unit: string;
  aggregation: string;
  composed_of: string[] | null;
  seq_from: number;
}

/** A metric definition as the answers give it; `seq` is its MetricDefined's, the ETag of GET /v1/metrics/{metric}. */
function metricOf(r: MetricRow) {
  return {
    metric: r.metric,
    label: r.label,
    unit: r.unit,
    aggregation: r.aggregation as (typeof AGGREGATIONS)[number],
    ...(r.composed_of === null ? {} : { composedOf: r.composed_of }),
    seq: Number(r.seq_from),
  };
}

type Hop = { id: string; role: string; name?: string };

/**
 * Gives each hop without a name of its own the name its source is registered under at the
 * context's instant, in one look-up for all the points of an answer (a look-up per point made the
 * planner's estimate of a 20,000-point history cross the JIT threshold, and cost a scan each).
 */
async function nameHops(db: Kysely<Database>, ctx: ReadContext, points: { via: unknown }[]): Promise<void> {
  const unnamed = new Set<string>();
  for (const p of points) for (const h of p.via as Hop[]) if (h.name === undefined) unnamed.add(h.id);
  if (unnamed.size === 0) return;
  const rows = await sql<{ source_id: string; name: string }>`
    select distinct on (s.source_id) s.source_id, s.name from ${sql.table(`${ctx.schema}.sources`)} s
     where s.source_id = any(${[...unnamed]}::text[]) and s.name is not null and ${visibleAt(ctx, 's')}
     order by s.source_id, s.seq_from desc`.execute(db);
  const names = new Map(rows.rows.map((r) => [r.source_id, r.name]));
  for (const p of points)
    if ((p.via as Hop[]).some((h) => h.name === undefined && names.has(h.id)))
      p.via = (p.via as Hop[]).map((h) =>
        h.name === undefined && names.has(h.id) ? { ...h, name: names.get(h.id)! } : h,
      );
}

function isPointRow<R extends { claim_id: unknown }>(r: R): r is Extract<R, HistoryRow> {
  return r.claim_id !== null;
}

/** What a history reads: the JSON pages and the CSV export take the same filters. */
export interface HistoryFilter {
  topic: string;
  metric: string;
  sources?: string[];
  includeRetracted: boolean;
}

// claim_id is null only in the one row of an answer without points.
type HistoryPageRow = (HistoryRow | { [K in keyof HistoryRow]: K extends 'claim_id' ? null : unknown }) & {
  stated_from_text: string;
  first_unit: string | null;
};

/**
 * The claim versions a history reads (`alias` of claim_versions): the topic and metric's visible at
 * the context's instant that count at its `publishedBy`, of the filter's sources, stated within
 * its `from`/`to`; retracted ones too (they take part in supersession; the answer leaves them out
 * unless asked). The JSON pages and the CSV export both read these, so a filter added here applies
 * to both.
 */
export function historyRows(ctx: ReadContext, q: HistoryFilter, alias: string) {
  const a = sql.ref(alias);
  return sql`${a}.topic = ${q.topic} and ${a}.metric = ${q.metric} and ${visibleAt(ctx, alias)}
    and ${claimCounts(ctx, alias)}
    ${q.sources && q.sources.length > 0 ? sql`and ${a}.source_id = any(${q.sources}::text[])` : sql``}
    and ${statedWithin(ctx, alias)}`;
}

export function createReadModels(db: Kysely<Database>) {
  const pointColumns = sql`cv.claim_id, cv.seq_from, cv.topic, cv.metric, cv.source_id, cv.unit, cv.value,
    cv.low, cv.best, cv.high, cv.rule, cv.stated_at, cv.stated_from, cv.valid_from, cv.valid_to, cv.quote,
    cv.via, cv.status, cv.first_seq, cv.recorded_at, cv.confidence, cv.likelihood, cv.note, cv.corrected,
    s.name as source_name, s.kind as source_kind, s.country as source_country`;

  /**
   * The history's one statement: each point of the filtered set (from `after`, `limit` of them
   * and one more when a limit is given) with its source, and one row for each of its citations
   * with the report, in the answer's order, so a point's citations are consecutive rows. Its
   * rows are historyRows', which the CSV export reads too (history-csv.ts).
   */
  function historyStatement(
    ctx: ReadContext,
    q: HistoryFilter & { limit?: number; after?: { statedFrom: string; seq: number } },
  ) {
    // One statement (one snapshot, one round trip). Two statements (the points, then the
    // citations of their ids) cost the 1M-event benchmark's 18k-point answer a second scan and an
    // 18k-id array both ways. recorded_at comes as the ISO text the answer holds (toISOString's
    // form, always UTC with milliseconds): parsing 18k timestamps into Dates to print them again
    // cost ~5 % of the request.
    // Which claim stands over each point (supersession.sql.ts) is worked out over the whole
    // filtered set, not the page, so that a page says what one big answer would. The unit is the
    // first point's of the whole set for the same reason. Pages are keyset pages in
    // (stated_from, first_seq) order, unique among the visible versions (one per claim). The
    // hops' names are looked up for the page's points only.
    const t = (name: string) => sql.table(`${ctx.schema}.${name}`);
    return sql<HistoryPageRow>`
      with f as materialized (
        select cv.claim_id, cv.source_id, cv.unit, cv.value, cv.low, cv.best, cv.high, cv.rule, cv.stated_at,
               cv.stated_from, cv.valid_from, cv.valid_to, cv.quote, cv.via, cv.status, cv.first_seq, cv.recorded_at,
               cv.confidence, cv.likelihood, cv.note, cv.corrected,
               ${standingClaim('cv', aggregationOf(ctx, q.metric))} as standing
          from ${t('claim_versions')} cv
         where ${historyRows(ctx, q, 'cv')}
      ),
      page as (
        select * from f
         where true
           ${q.includeRetracted ? sql`` : sql`and f.status <> 'retracted'`}
           ${q.after ? sql`and (f.stated_from, f.first_seq) > (${q.after.statedFrom}::timestamptz, ${q.after.seq})` : sql``}
         order by f.stated_from, f.first_seq
         ${q.limit === undefined ? sql`` : sql`limit ${q.limit + 1}`}
      ),
      named as materialized (select page.* from page)
      select p.claim_id, p.source_id, p.unit, p.value, p.low, p.best, p.high, p.rule, p.stated_at,
             p.valid_from, p.valid_to, p.quote, p.via, p.first_seq, p.status, p.standing,
             p.confidence, p.likelihood, p.note, p.corrected,
             to_char(p.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as recorded_at,
             to_char(p.stated_from at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as stated_from_text,
             u.first_unit,
             s.name as source_name, s.kind as source_kind, s.country as source_country,
             r.report_id, r.url, r.publisher, r.published_at, r.title, r.kind
        from (select (select f.unit from f order by f.stated_from, f.first_seq limit 1) as first_unit) u
        left join named p on true
        left join ${t('sources')} s on s.source_id = p.source_id and ${visibleAt(ctx, 's')}
        left join (${t('claim_citations')} c join ${t('reports')} r on r.report_id = c.report_id and ${reportCounts(ctx, 'r')})
          on c.claim_id = p.claim_id ${ctx.past ? sql`and c.known_at <= ${ctx.knownAt}::timestamptz` : sql``}
       order by p.stated_from, p.first_seq, c.seq`;
  }

  return {
    async history(
      ctx: ReadContext,
      q: HistoryFilter & {
        /** Points of one page, and where it starts (after this point; from the first without). */
        limit: number;
        after?: { statedFrom: string; seq: number };
      },
    ) {
      const rows = await historyStatement(ctx, q).execute(db);
      type Point = ReturnType<typeof toPoint>;
      const bySource = new Map<string, { source: ReturnType<typeof sourceRef>; points: Point[] }>();
      let unit: string | null = null;
      let point: Point | undefined;
      let points = 0;
      let last: { statedFrom: string; seq: number } | undefined;
      let more = false;
      for (const r of rows.rows) {
        unit ??= r.first_unit;
        if (!isPointRow(r)) break;
        if (point?.claimId !== r.claim_id) {
          if (points === q.limit) {
            more = true;
            break;
          }
          points++;
          point = toPoint(r);
          last = { statedFrom: r.stated_from_text, seq: Number(r.first_seq) };
          let series = bySource.get(r.source_id);
          if (!series) bySource.set(r.source_id, (series = { source: sourceRef(r), points: [] }));
          series.points.push(point);
        }
        if (r.report_id !== null) point.reports.push(reportRefOf(r.report_id, r));
      }
      const series = [...bySource.values()];
      await nameHops(
        db,
        ctx,
        series.flatMap((x) => x.points),
      );
      return { unit, series, next: more ? last : undefined };
    },

    async topics(ctx: ReadContext, page?: { after?: string; limit: number }) {
      // Topics in byte order (collate "C"), whatever the database's collation: the order a cursor
      // resumes from must be the one the pages were cut in. A page is `limit` topics (with all
      // their metrics), read with one more to know whether another page follows. A topic is listed
      // when it has a claim not retracted or was defined (its label and description, the newest
      // known at the instant; a defined topic without claims has no metrics yet).
      const cvs = sql.table(`${ctx.schema}.claim_versions`);
      const after = (col: string) =>
        page?.after === undefined ? sql`true` : sql`${sql.ref(col)} collate "C" > ${page.after}`;
      const shown = (col: string) => (page ? sql`${sql.ref(col)} collate "C" in (select topic from shown)` : sql`true`);
      const rows = await sql<{
        topic: string;
        label: string | null;
        description: string | null;
        metric: string | null;
        unit: string;
        claims: number;
        sources: number;
        first_stated_at: string;
        last_stated_at: string;
      }>`
        with names as (
          select distinct on (d.topic) d.topic, d.label, d.description
            from ${sql.table(`${ctx.schema}.topics`)} d
           where ${ctx.past ? sql`d.known_at <= ${ctx.knownAt}::timestamptz` : sql`true`}
           order by d.topic, d.seq desc
        ),
        ${
          page
            ? sql`shown as (
          select x.topic from (
            (select distinct t.topic collate "C" as topic from ${cvs} t
              where ${visibleAt(ctx, 't')} and t.status <> 'retracted' and ${claimCounts(ctx, 't')}
                and ${statedWithin(ctx, 't')} and ${after('t.topic')}
              order by 1 limit ${page.limit + 1})
            union
            (select n.topic collate "C" from names n where ${after('n.topic')} order by 1 limit ${page.limit + 1})
          ) x order by 1 limit ${page.limit + 1}
        ),`
            : sql``
        }
        figures as (
          select cv.topic, cv.metric, min(cv.unit) as unit, count(*)::int as claims, count(distinct cv.source_id)::int as sources,
                 (array_agg(cv.stated_at order by cv.stated_from, cv.first_seq))[1] as first_stated_at,
                 (array_agg(cv.stated_at order by cv.stated_from desc, cv.first_seq desc))[1] as last_stated_at
            from ${cvs} cv
           where ${visibleAt(ctx, 'cv')} and cv.status <> 'retracted' and ${claimCounts(ctx, 'cv')}
             and ${statedWithin(ctx, 'cv')} and ${shown('cv.topic')}
           group by cv.topic, cv.metric
        )
        select coalesce(f.topic, n.topic) as topic, n.label, n.description, f.metric, f.unit, f.claims, f.sources,
               f.first_stated_at, f.last_stated_at
          from figures f
          full join (select * from names where ${shown('names.topic')}) n on n.topic = f.topic
         order by coalesce(f.topic, n.topic) collate "C", f.metric collate "C"`.execute(db);
      const topics = new Map<
        string,
        {
          topic: string;
          label?: string;
          description?: string;
          metrics: {
            metric: string;
            unit: string;
            claims: number;
            sources: number;
            firstStatedAt: string;
            lastStatedAt: string;
          }[];
        }
      >();
      for (const r of rows.rows) {
        let t = topics.get(r.topic);
        if (!t) {
          t = {
            topic: r.topic,
            ...(r.label === null ? {} : { label: r.label }),
            ...(r.description === null ? {} : { description: r.description }),
            metrics: [],
          };
          topics.set(r.topic, t);
        }
        if (r.metric === null) continue;
        t.metrics.push({
          metric: r.metric,
          unit: r.unit,
          claims: r.claims,
          sources: r.sources,
          firstStatedAt: r.first_stated_at,
          lastStatedAt: r.last_stated_at,
        });
      }
      return [...topics.values()];
    },

    async metrics(ctx: ReadContext, page: { after?: string; limit: number }) {
      // Definitions in byte order of metric (collate "C"), as the cursor resumes; one more than a
      // page, to know whether another follows.
      const rows = await sql<MetricRow>`
        select m.metric, m.label, m.unit, m.aggregation, m.composed_of, m.seq_from
          from ${sql.table(`${ctx.schema}.metrics`)} m
         where ${visibleAt(ctx, 'm')} ${page.after === undefined ? sql`` : sql`and m.metric collate "C" > ${page.after}`}
         order by m.metric collate "C"
         limit ${page.limit + 1}`.execute(db);
      return rows.rows.map(metricOf);
    },

    async metric(ctx: ReadContext, metric: string) {
      const rows = await sql<MetricRow>`
        select m.metric, m.label, m.unit, m.aggregation, m.composed_of, m.seq_from
          from ${sql.table(`${ctx.schema}.metrics`)} m
         where m.metric = ${metric} and ${visibleAt(ctx, 'm')}
         limit 1`.execute(db);
      const r = rows.rows[0];
      return r ? metricOf(r) : undefined;
    },

    async claim(ctx: ReadContext, claimId: string) {
      // One statement (one round trip, one snapshot): the version, the claim that stands in its
      // group of the same source's figures (supersession.sql.ts), its revisions and its citations
      // with their reports.
      // Now: the claim's newest version, found on the primary key (the current one is always the
      // newest); `claim_id = … and seq_to is null` let the planner, without statistics, AND the
      // primary key with the whole claim_versions_current partial index, a scan that grows with
      // the table. At a past instant: the version visible then. Citations look up each report by
      // its key (a join let the planner hash every report for one claim's few citations).
      const t = (name: string) => sql.table(`${ctx.schema}.${name}`);
      const versions = ctx.past
        ? sql`(select * from ${t('claim_versions')} v where v.claim_id = ${claimId})`
        : sql`(select * from ${t('claim_versions')} v where v.claim_id = ${claimId} order by v.seq_from desc limit 1)`;
      const knownBy = (alias: string) =>
        ctx.past ? sql`and ${sql.ref(alias)}.known_at <= ${ctx.knownAt}::timestamptz` : sql``;
      const rows = await sql<PointRow & { revisions: RevisionJson[]; citations: CitationRow[] }>`
        select ${pointColumns},
          (select w.standing
             from (select n.claim_id, ${standingClaim('n', aggregationOf(ctx, sql`cv.metric`))} as standing
                     from ${t('claim_versions')} n
                    where n.topic = cv.topic and n.metric = cv.metric and n.source_id = cv.source_id
                      and ${visibleAt(ctx, 'n')} and ${claimCounts(ctx, 'n')}) w
            where w.claim_id = cv.claim_id) as standing,
          (select coalesce(json_agg(json_build_object('seq', r.seq, 'type', r.type, 'recorded_at', r.recorded_at,
                    'actor', r.actor, 'changes', r.changes, 'reason', r.reason, 'retracted_by', r.retracted_by,
                    'report_id', r.report_id, 'before', r.before) order by r.seq), '[]')
             from ${t('claim_revisions')} r where r.claim_id = cv.claim_id ${knownBy('r')}) as revisions,
          (select coalesce(json_agg(json_build_object('seq', c.seq, 'echo', c.echo, 'quote', c.quote,
                    'report_id', p.report_id, 'url', p.url, 'publisher', p.publisher, 'published_at', p.published_at,
                    'title', p.title, 'kind', p.kind) order by c.seq), '[]')
             from ${t('claim_citations')} c
            cross join lateral (select * from ${t('reports')} p
                                 where p.report_id = c.report_id and ${reportCounts(ctx, 'p')} limit 1) p
            where c.claim_id = cv.claim_id ${knownBy('c')}) as citations
          from ${versions} cv
          left join ${t('sources')} s on s.source_id = cv.source_id and ${visibleAt(ctx, 's')}
         where ${visibleAt(ctx, 'cv')} and ${claimCounts(ctx, 'cv')}`.execute(db);
      const r = rows.rows[0];
      if (!r) return undefined;
      const cites = r.citations.map(citationOf);
      const { reports: _none, ...figure } = toPoint(r);
      await nameHops(db, ctx, [figure]);
      return {
        claim: { ...figure, topic: r.topic, metric: r.metric, unit: r.unit, source: sourceRef(r) },
        revisions: r.revisions.map((v) => ({
          seq: Number(v.seq),
          type: v.type,
          recordedAt: isoOf(v.recorded_at),
          actor: v.actor,
          ...(v.changes === null ? {} : { changes: v.changes as Record<string, unknown> }),
          ...(v.reason === null ? {} : { reason: v.reason }),
          ...(v.retracted_by === null ? {} : { by: v.retracted_by }),
          ...(v.report_id === null ? {} : { reportId: v.report_id }),
          ...(v.before === null ? {} : { before: v.before as Record<string, unknown> }),
        })),
        reports: cites.map(({ quote, ...c }) => ({ ...c, ...(quote === null ? {} : { quote }) })),
      };
    },

    async events(
      ctx: ReadContext,
      q: { fromSeq: number; toSeq?: number; limit: number; topic?: string; verify: boolean },
    ) {
      const t = sql.table(`${ctx.schema}.event_ledger`);
      const rows = await sql<{
        seq: number;
        subject: string;
        chain_hash: string;
        payload: string;
        prev_hash: string | null;
      }>`
        select e.seq, e.subject, e.chain_hash, e.payload
               ${q.verify ? sql`, (select p.chain_hash from ${t} p where p.seq < e.seq order by p.seq desc limit 1) as prev_hash` : sql``}
          from ${t} e
         where e.seq >= ${q.fromSeq} ${q.toSeq === undefined ? sql`` : sql`and e.seq <= ${q.toSeq}`}
           ${q.topic === undefined ? sql`` : sql`and e.topic = ${q.topic}`}
           ${ctx.past ? sql`and e.known_at <= ${ctx.knownAt}::timestamptz` : sql``}
         order by e.seq
         limit ${q.limit + 1}`.execute(db);
      const more = rows.rows.length > q.limit;
      const page = rows.rows.slice(0, q.limit);
      return { page, nextFromSeq: more ? Number(rows.rows[q.limit]!.seq) : null };
    },
  };

  /**
   * A point, or a claim's figure: the version as it stands, superseded when another claim of its
   * group stands over it (a retracted claim stays retracted, a corrected one says so either way).
   */
  function toPoint(r: PointFields) {
    // The CSV export says the same in SQL (history-csv.ts, supersededSql).
    const superseded = r.status !== 'retracted' && r.standing !== r.claim_id;
    return {
      claimId: r.claim_id,
      statedAt: r.stated_at,
      validFrom: r.valid_from,
      validTo: r.valid_to,
      value: r.value,
      low: num(r.low),
      best: num(r.best),
      high: num(r.high),
      rule: r.rule,
      status: (superseded ? 'superseded' : r.status) as ClaimStatus,
      ...(superseded ? { supersededBy: r.standing } : {}),
      ...(r.corrected ? { corrected: true as const } : {}),
      recordedAt: typeof r.recorded_at === 'string' ? r.recorded_at : isoOf(r.recorded_at),
      seq: Number(r.first_seq),
      ...(r.quote === null ? {} : { quote: r.quote }),
      ...(r.confidence === null ? {} : { confidence: r.confidence }),
      ...(r.likelihood === null ? {} : { likelihood: r.likelihood }),
      ...(r.note === null ? {} : { note: r.note }),
      via: r.via,
      // The history fills them in from its rows; a claim's answer lists its citations apart.
      reports: [] as ReportRef[],
    };
  }
}
export type ReadModels = ReturnType<typeof createReadModels>;
