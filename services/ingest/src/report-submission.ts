import { createEnvelope } from '@claimtrail/shared/envelope';
import { mustParseFuzzyDate, type ClaimtrailEvent } from '@claimtrail/shared/events';
import type { PostReportRequest, PostReportResponse } from '@claimtrail/shared/contract';
import { bodyHashOf, messageIdOf, reportIdOf } from '@claimtrail/shared/identity';
import type { IdentityIndex } from '@claimtrail/shared/nats';
import type { SimilarFinder } from './similar-claims.ts';
import { ValidationError } from '@claimtrail/shared/errors';
import type { Logger } from '@claimtrail/shared';
import type { EventStore } from './event-store.ts';
import type { createIdempotency } from './idempotency.ts';
import { requestKeyOf } from './idempotency-key.ts';
import { canonicalHop, createSourceRegistrations } from './source-registrations.ts';
import { definitionByClaim, type MetricCatalog } from './metric-catalog.ts';
import { checkReportMetrics, newMetricWarnings } from './report-metrics.ts';

export interface RequestContext {
  actor: string;
  requestId: string;
  idempotencyHeader: string | undefined;
  /** Whose idempotency keys the request's are (idempotency-key.ts). */
  keyOwner: string;
  now: () => Date;
  /** The request's logger. */
  log: Pick<Logger, 'warn'>;
}

type Idem = ReturnType<typeof createIdempotency<PostReportResponse>>;

/** Checks what the schema cannot: that each claim's valid time is not inverted. */
export function checkClaimTimes(body: PostReportRequest): void {
  const errors: { path: string; message: string }[] = [];
  body.claims.forEach((c, i) => {
    const stated = c.statedAt ?? body.report.publishedAt;
    const from = mustParseFuzzyDate(c.validFrom ?? stated);
    const to = mustParseFuzzyDate(c.validTo ?? stated);
    if (from.from > to.to)
      errors.push({ path: `/claims/${i}/validFrom`, message: 'validFrom must not be after validTo' });
  });
  if (errors.length > 0)
    throw new ValidationError(
      `the request body is invalid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
      errors,
    );
}

// Keys of the data below are in canonical (sorted) order, as the envelope's are: canonicalJson
// then writes each event with one JSON.stringify.
const envelope = createEnvelope;

/**
 * Where the j-th source registration of a report sits among its events' indices (seeds and
 * msgIDs): the report is 0, claim i is 1000 + i and the definition of the report's p-th distinct
 * metric 2000 + p, so the first 999 registrations are 1 + j and any further ones (hops' names can
 * describe up to 4,000 more sources) start at 100,000.
 */
const sourceIndex = (j: number) => (j < 999 ? 1 + j : 100_000 + j);
const definitionIndex = (position: number) => 2000 + position;
type MetricDefinedEvent = Extract<ClaimtrailEvent, { type: 'MetricDefined' }>;

/**
 * `POST /v1/reports`: derives ids, publishes ReportSubmitted, SourceRegistered and one
 * ClaimRecorded (or ClaimCited for an echo) per claim, and answers once JetStream acknowledged
 * every one of them.
 */
export async function submitReport(
  deps: {
    store: EventStore;
    idem: Idem;
    catalog: MetricCatalog;
    identities: IdentityIndex;
    /** Hints of claims the report's may repeat in other words (none without read models). */
    similar: SimilarFinder | undefined;
  },
  body: PostReportRequest,
  ctx: RequestContext,
): Promise<{ response: PostReportResponse; duplicate: boolean }> {
  const { store, idem, catalog, identities } = deps;
  checkClaimTimes(body);
  const metrics = await checkReportMetrics(catalog, body);
  let warnings = await newMetricWarnings(catalog, metrics.fresh);
  // One canonical serialisation and hash serve as both the body hash and, without a header, the key.
  const bodyHash = bodyHashOf(body);
  const key = requestKeyOf(ctx, () => bodyHash);
  const claimed = await idem.claim(key, {
    bodyHash,
    recordedAt: ctx.now().toISOString(),
    requestId: ctx.requestId,
    actor: ctx.actor,
  });
  if (claimed.kind === 'done') return { response: { ...claimed.response, duplicate: true }, duplicate: true };
  const rec = claimed.record;
  const base = { recordedAt: rec.recordedAt, actor: rec.actor, requestId: rec.requestId };
  const seedOf = (i: number) => `${key}\n${i}`;
  const reportId = reportIdOf(key);
  const s = store.subjects;
  const r = body.report;

  const reportEvent = {
    subject: s.report(reportId),
    event: envelope(
      'ReportSubmitted',
      {
        claimCount: body.claims.length,
        ...(r.kind === undefined ? {} : { kind: r.kind }),
        ...(r.language === undefined ? {} : { language: r.language }),
        publishedAt: r.publishedAt,
        publisher: r.publisher,
        reportId,
        ...(r.retrievedAt === undefined ? {} : { retrievedAt: r.retrievedAt }),
        ...(r.title === undefined ? {} : { title: r.title }),
        url: r.url,
      },
      { ...base, seed: seedOf(0) },
    ),
  };

  const registrations = createSourceRegistrations();
  for (const c of body.claims) {
    registrations.source(c.source);
    registrations.via(c.via);
  }
  const sourceEvents = registrations.list().map((data, j) => ({
    subject: s.source(data.sourceId),
    event: envelope('SourceRegistered', data, { ...base, seed: seedOf(sourceIndex(j)) }),
  }));

  const claimEvents = body.claims.map((c, i) => {
    const idx = 1000 + i;
    const statedAt = c.statedAt ?? r.publishedAt;
    const validFrom = c.validFrom ?? statedAt;
    const validTo = c.validTo ?? statedAt;
    const identity = {
      topic: c.topic,
      metric: c.metric,
      sourceId: c.source.id,
      statedAt,
      validFrom,
      validTo,
      value: c.value,
    };
    // The claim that has this identity now (an echo), or the id a new claim with it is recorded
    // under: identities follow corrections (identity-index.ts).
    const claimId = identities.claimIdFor(identity);
    const via = (c.via ?? []).map(canonicalHop);
    const recorded = envelope(
      'ClaimRecorded',
      {
        claimId,
        ...(c.confidence === undefined ? {} : { confidence: c.confidence }),
        ...(c.likelihood === undefined ? {} : { likelihood: c.likelihood }),
        metric: c.metric,
        ...(c.note === undefined ? {} : { note: c.note }),
        ...(c.quote === undefined ? {} : { quote: c.quote }),
        reportId,
        sourceId: c.source.id,
        statedAt,
        topic: c.topic,
        unit: c.unit,
        validFrom,
        validTo,
        value: c.value,
        via,
      },
      { ...base, seed: seedOf(idx) },
    );
    // The citation of an existing claim reuses the event id the record would have had, so a late
    // retry cannot cite twice.
    const cited = () =>
      envelope(
        'ClaimCited',
        { claimId, ...(c.quote === undefined ? {} : { quote: c.quote }), reportId, via },
        { ...base, seed: seedOf(idx) },
      );
    // Where an earlier attempt with this key may have recorded the claim, had a correction since
    // moved the identity on.
    const subjectsBefore = () => identities.candidatesFor(identity).map((id) => s.claim(c.topic, id));
    return { claimId, idx, subject: s.claim(c.topic, claimId), recorded, cited, subjectsBefore };
  });

  // The hints are looked up while the events are published; echoes get none.
  const hints = deps.similar?.find(
    body.claims.map((c, i) => ({
      topic: c.topic,
      metric: c.metric,
      sourceId: c.source.id,
      statedAt: c.statedAt ?? r.publishedAt,
      value: c.value,
      claimId: claimEvents[i]!.claimId,
    })),
  );

  const definitionEvents = metrics.fresh.map((m) => ({
    metric: m,
    subject: s.metric(m.metric),
    event: envelope('MetricDefined', definitionByClaim(m.metric, m.unit), {
      ...base,
      seed: seedOf(definitionIndex(m.position)),
    }) as MetricDefinedEvent,
  }));
  if (claimed.resumed) {
    // The metrics an earlier attempt with this key defined are still the ones this report defined.
    const ours = metrics.defined
      .filter(
        (d) =>
          d.inForce.event.eventId ===
          envelope('MetricDefined', d.inForce.event.data, { ...base, seed: seedOf(definitionIndex(d.metric.position)) })
            .eventId,
      )
      .map((d) => d.metric);
    if (ours.length > 0) warnings = await newMetricWarnings(catalog, [...metrics.fresh, ...ours]);
  }

  const before = claimed.resumed ? await storedBefore(store, reportEvent, sourceEvents, claimEvents) : undefined;

  // Whether this attempt stored any event (JetStream acknowledged it as new): if not, it is a
  // duplicate of an earlier attempt, which answered or would have answered the same.
  let storedAny = false;

  // The definitions go first, each expecting its subject empty: if another request defined the
  // metric meanwhile in another unit, this report's claims are refused before any is stored (its
  // idempotency record stays pending: a retry is refused the same way, before anything is stored).
  const definitionSeqs = await Promise.all(
    definitionEvents.map(async (d) => {
      const o = await store.publish({
        subject: d.subject,
        event: d.event,
        msgId: messageIdOf('report', key, definitionIndex(d.metric.position)),
        expectLastSubjectSeq: 0,
      });
      if (o.ok) {
        if (!o.duplicate) storedAny = true;
        catalog.remember(d.metric.metric, { seq: o.seq, event: d.event });
        return o.seq;
      }
      const now = await catalog.inForceNow(d.metric.metric);
      if (now && now.event.data.unit !== d.metric.unit) {
        const path = `/claims/${d.metric.claim}/unit`;
        const message = `metric ${d.metric.metric} is counted in ${now.event.data.unit}, not ${d.metric.unit}`;
        throw new ValidationError(`the request body is invalid: ${path} ${message}`, [{ path, message }]);
      }
      return now?.seq ?? 0;
    }),
  );
  const publishPlain = async (
    index: number,
    e: { subject: string; event: ClaimtrailEvent },
    storedSeq: number | undefined,
  ): Promise<{ seq: number }> => {
    if (storedSeq !== undefined) return { seq: storedSeq };
    const o = await store.publish({ subject: e.subject, event: e.event, msgId: messageIdOf('report', key, index) });
    if (!o.ok) throw new Error('unexpected expectation failure');
    if (!o.duplicate) storedAny = true;
    return o;
  };

  const pending = [
    publishPlain(0, reportEvent, before?.report),
    ...sourceEvents.map((e, j) => publishPlain(sourceIndex(j), e, before?.sources[j])),
  ];
  const claimResults = claimEvents.map(async (p, i) => {
    const earlier = before?.claims[i];
    if (earlier) return { claimId: earlier.claimId, echo: earlier.echo, seq: earlier.seq };
    const first = await store.publish({
      subject: p.subject,
      event: p.recorded,
      msgId: messageIdOf('report', key, p.idx),
      expectLastSubjectSeq: 0,
    });
    if (first.ok) {
      if (!first.duplicate) storedAny = true;
      return { claimId: p.claimId, echo: false, seq: first.seq };
    }
    // The subject already holds this claim: the report repeats an existing estimate.
    const second = await store.publish({
      subject: p.subject,
      event: p.cited(),
      msgId: messageIdOf('report-cite', key, p.idx),
    });
    if (!second.ok) throw new Error('unexpected expectation failure');
    if (!second.duplicate) storedAny = true;
    return { claimId: p.claimId, echo: true, seq: second.seq };
  });

  const [others, stored] = await Promise.all([Promise.all(pending), Promise.all(claimResults)]);
  const lastSeq = Math.max(...others.map((o) => o.seq), ...stored.map((c) => c.seq), ...definitionSeqs);
  const similar = await hints;
  const claims = stored.map((c, i) => {
    const found = c.echo ? undefined : similar?.[i]?.filter((h) => h.claimId !== c.claimId);
    return found && found.length > 0 ? { ...c, similar: found } : c;
  });
  if (hints !== undefined && similar === undefined)
    warnings = [
      ...warnings,
      {
        path: '/claims',
        message: 'similar claims were not looked up: the read models did not answer (the claims are stored)',
      },
    ];
  const response: PostReportResponse = {
    reportId,
    duplicate: false,
    lastSeq,
    claims,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
  await claimed.complete(response).catch((err: unknown) => {
    // Every event is stored: a retry finds them (storedBefore) and answers the same.
    ctx.log.warn({ err, reportId }, 'the answer was not stored under its idempotency key; a retry will rebuild it');
  });
  const duplicate = claimed.resumed && !storedAny;
  return { response: duplicate ? { ...response, duplicate } : response, duplicate };
}

/**
 * What earlier attempts with this key stored, found by event id: a retry rebuilds its events with
 * the same ids. Within JetStream's duplicate window publishing them again would answer their seqs;
 * past it, JetStream stores them again as new messages (repeats, which the projector drops), and a
 * claim's own record, refused by its subject's expected seq, would come back as a citation of
 * itself: `echo: true` with the repeat's seq. Only an attempt that resumes a record looks.
 *
 * A claim is looked for under every id its identity may have had since (a correction in between
 * moves the identity on: identity-index.ts); each claim subject is read from its start (its
 * record and citations, a few messages). A source's
 * subject has a message for every report that describes the source, so it is read only from the
 * first seq found of this report (each attempt publishes the report event, then the sources, then
 * the claims, in that order on one connection); a source event not found is published again (at
 * worst a repeat of it, and a `lastSeq` past the first answer's).
 */
async function storedBefore(
  store: EventStore,
  report: { subject: string; event: ClaimtrailEvent },
  sources: { subject: string; event: ClaimtrailEvent }[],
  claims: { subjectsBefore: () => string[]; recorded: ClaimtrailEvent }[],
): Promise<{
  report: number | undefined;
  sources: (number | undefined)[];
  claims: ({ seq: number; echo: boolean; claimId: string } | undefined)[];
}> {
  const findClaim = async (c: (typeof claims)[number]) => {
    for (const subject of c.subjectsBefore()) {
      const found = await store.findEvent(subject, c.recorded.eventId);
      if (found) return found;
    }
    return undefined;
  };
  const [reportFound, claimsFound] = await Promise.all([
    store.findEvent(report.subject, report.event.eventId),
    Promise.all(claims.map(findClaim)),
  ]);
  const seqs = [reportFound?.seq, ...claimsFound.map((c) => c?.seq)].filter((q) => q !== undefined);
  const from = seqs.length > 0 ? Math.min(...seqs) : undefined;
  const sourcesFound =
    from === undefined
      ? sources.map(() => undefined)
      : await Promise.all(sources.map((e) => store.findEvent(e.subject, e.event.eventId, from)));
  return {
    report: reportFound?.seq,
    sources: sourcesFound.map((e) => e?.seq),
    claims: claimsFound.map((e) =>
      e
        ? { seq: e.seq, echo: e.event?.type === 'ClaimCited', claimId: store.subjects.claimIdOf(e.subject)! }
        : undefined,
    ),
  };
}
