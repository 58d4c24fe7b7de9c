import { mustParseFuzzyDate, type ClaimtrailEvent, type EventData, type EventType } from '@claimtrail/shared/events';
import type { PostReportRequest, PostReportResponse } from '@claimtrail/shared/contract';
import { bodyHashOf, claimIdOf, idempotencyKeyOf, messageIdOf, reportIdOf, uuidv7 } from '@claimtrail/shared/identity';
import { ValidationError } from '@claimtrail/shared/errors';
import type { EventStore } from './event-store.ts';
import type { createIdempotency } from './idempotency.ts';

export interface RequestContext {
  actor: string;
  requestId: string;
  idempotencyHeader: string | undefined;
  now: () => Date;
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

function envelope<T extends EventType>(
  type: T,
  data: EventData<T>,
  ctx: { recordedAt: string; actor: string; requestId: string; seed: string },
): ClaimtrailEvent {
  // Keys in canonical (sorted) order here and in the data below: canonicalJson then writes the
  // event with one JSON.stringify.
  return {
    actor: ctx.actor,
    data,
    eventId: uuidv7(Date.parse(ctx.recordedAt), ctx.seed),
    recordedAt: ctx.recordedAt,
    requestId: ctx.requestId,
    type,
    version: 1,
  } as ClaimtrailEvent;
}

/**
 * `POST /v1/reports`: derives ids, publishes ReportSubmitted, SourceRegistered and one
 * ClaimRecorded (or ClaimCited for an echo) per claim, and answers once JetStream acknowledged
 * every one of them.
 */
export async function submitReport(
  store: EventStore,
  idem: Idem,
  body: PostReportRequest,
  ctx: RequestContext,
): Promise<{ response: PostReportResponse; duplicate: boolean }> {
  checkClaimTimes(body);
  // One canonical serialisation and hash serve as both the body hash and, without a header, the key.
  const bodyHash = bodyHashOf(body);
  const key = ctx.idempotencyHeader !== undefined ? idempotencyKeyOf(ctx.idempotencyHeader, body) : `body:${bodyHash}`;
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

  const pending: Promise<{ seq: number }>[] = [];
  const publishPlain = (index: number, subject: string, event: ClaimtrailEvent) =>
    store.publish({ subject, event, msgId: messageIdOf('report', key, index) }).then((o) => {
      if (!o.ok) throw new Error('unexpected expectation failure');
      return o;
    });

  pending.push(
    publishPlain(
      0,
      s.report(reportId),
      envelope(
        'ReportSubmitted',
        {
          claimCount: body.claims.length,
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
    ),
  );

  // Sources that the report describes (name, kind or country given); later mentions add to earlier.
  const sources = new Map<string, EventData<'SourceRegistered'>>();
  for (const c of body.claims) {
    const { id, name, kind, country } = c.source;
    if (name === undefined && kind === undefined && country === undefined) continue;
    const prev = sources.get(id) ?? { sourceId: id };
    sources.set(id, {
      ...prev,
      ...(name === undefined ? {} : { name }),
      ...(kind === undefined ? {} : { kind }),
      ...(country === undefined ? {} : { country }),
    });
  }
  let index = 1;
  for (const data of sources.values()) {
    pending.push(
      publishPlain(
        index,
        s.source(data.sourceId),
        envelope('SourceRegistered', data, { ...base, seed: seedOf(index) }),
      ),
    );
    index += 1;
  }

  const claimResults = body.claims.map(async (c, i) => {
    const idx = 1000 + i;
    const statedAt = c.statedAt ?? r.publishedAt;
    const claimId = claimIdOf({ topic: c.topic, metric: c.metric, sourceId: c.source.id, statedAt, value: c.value });
    const subject = s.claim(c.topic, claimId);
    const via = c.via ?? [];
    const recorded = envelope(
      'ClaimRecorded',
      {
        claimId,
        metric: c.metric,
        ...(c.quote === undefined ? {} : { quote: c.quote }),
        reportId,
        sourceId: c.source.id,
        statedAt,
        topic: c.topic,
        unit: c.unit,
        validFrom: c.validFrom ?? statedAt,
        validTo: c.validTo ?? statedAt,
        value: c.value,
        via,
      },
      { ...base, seed: seedOf(idx) },
    );
    const first = await store.publish({
      subject,
      event: recorded,
      msgId: messageIdOf('report', key, idx),
      expectLastSubjectSeq: 0,
    });
    if (first.ok) return { claimId, echo: false, seq: first.seq };
    // The subject already holds this claim: the report repeats an existing estimate. The citation
    // reuses the event id the record would have had, so a late retry cannot cite twice.
    const cited = envelope(
      'ClaimCited',
      { claimId, ...(c.quote === undefined ? {} : { quote: c.quote }), reportId, via },
      { ...base, seed: seedOf(idx) },
    );
    const second = await store.publish({ subject, event: cited, msgId: messageIdOf('report-cite', key, idx) });
    if (!second.ok) throw new Error('unexpected expectation failure');
    return { claimId, echo: true, seq: second.seq };
  });

  const [others, claims] = await Promise.all([Promise.all(pending), Promise.all(claimResults)]);
  const lastSeq = Math.max(...others.map((o) => o.seq), ...claims.map((c) => c.seq));
  const response: PostReportResponse = { reportId, duplicate: false, lastSeq, claims };
  await claimed.complete(response).catch(() => {
    // Every event is stored; a retry would find the same msgIDs and the same answer.
  });
  return { response, duplicate: false };
}
