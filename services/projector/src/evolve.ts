import {
  mustParseFuzzyDate,
  type ClaimChanges,
  type ClaimtrailEvent,
  type ClaimValue,
  type EventData,
  type EventType,
} from '@claimtrail/shared/events';
import type { FoldContext } from './fold-context.ts';
import type { ClaimVersion, MetricVersion, SourceVersion } from './fold-rows.ts';

/** An event that cannot be applied to the state as it is: parked with this message as its reason. */
export class ParkError extends Error {}

/** Where an event sits: its stream seq, the transaction time it became known, and when it was recorded. */
export interface EventAt {
  seq: number;
  knownAt: string;
  recordedAt: string;
}

type EventOf<T extends EventType> = Extract<ClaimtrailEvent, { type: T }>;

/** Applies one event of type T to the batch's state and rows, or throws ParkError. */
type Handler<T extends EventType> = (c: FoldContext, e: EventOf<T>, at: EventAt) => void;

/** The version columns of a row that becomes current at `seq` (transaction time `knownAt`). */
function currentFrom(seq: number, knownAt: string) {
  return { seq_from: seq, seq_to: null, known_from: knownAt, known_to: null };
}

/** The claim an event is about, if any. */
export function claimIdOfEvent(e: ClaimtrailEvent): string | undefined {
  return 'claimId' in e.data ? e.data.claimId : undefined;
}

/**
 * What each event type does to the read models: one handler per type, so a new event type is
 * one handler here (the type checker asks for it).
 */
const handlers: { [T in EventType]: Handler<T> } = {
  ReportSubmitted(c, e, { seq, knownAt }) {
    const d = e.data;
    if (c.reports.has(d.reportId)) throw new ParkError(`report ${d.reportId} was submitted before`);
    c.reports.add(d.reportId);
    c.out.reports.push({
      report_id: d.reportId,
      seq,
      known_at: knownAt,
      url: d.url,
      publisher: d.publisher,
      title: d.title ?? null,
      published_at: d.publishedAt,
      published_from: mustParseFuzzyDate(d.publishedAt).from,
      published_to: mustParseFuzzyDate(d.publishedAt).to,
      language: d.language ?? null,
      retrieved_at: d.retrievedAt ?? null,
      kind: d.kind ?? null,
    });
  },

  TopicDefined(c, e, { seq, knownAt }) {
    const d = e.data;
    c.out.topics.push({
      topic: d.topic,
      seq,
      known_at: knownAt,
      label: d.label,
      description: d.description ?? null,
    });
  },

  SourceRegistered(c, e, { seq, knownAt }) {
    const d = e.data;
    const prev = c.sources.get(d.sourceId);
    const next: SourceVersion = {
      source_id: d.sourceId,
      ...currentFrom(seq, knownAt),
      name: d.name ?? prev?.name ?? null,
      kind: d.kind ?? prev?.kind ?? null,
      country: d.country ?? prev?.country ?? null,
    };
    if (prev && prev.name === next.name && prev.kind === next.kind && prev.country === next.country) return;
    if (prev) c.closeVersion(prev, seq, knownAt, (x) => c.out.sourceCloses.push({ source_id: prev.source_id, ...x }));
    c.addVersion(next, c.sources, d.sourceId, c.out.sourceVersions);
  },

  MetricDefined(c, e, { seq, knownAt }) {
    const d = e.data;
    const prev = c.metrics.get(d.metric);
    const next: MetricVersion = {
      metric: d.metric,
      ...currentFrom(seq, knownAt),
      label: d.label,
      unit: d.unit,
      aggregation: d.aggregation,
      composed_of: d.composedOf ?? null,
    };
    if (prev) c.closeVersion(prev, seq, knownAt, (x) => c.out.metricCloses.push({ metric: prev.metric, ...x }));
    c.addVersion(next, c.metrics, d.metric, c.out.metricVersions);
  },

  ClaimRecorded(c, e, at) {
    const d = e.data;
    if (c.claims.has(d.claimId)) throw new ParkError(`claim ${d.claimId} was recorded before`);
    c.addVersion(newVersion(c, d, at), c.claims, d.claimId, c.out.claimVersions);
    cite(c, e, d, at, false);
  },

  ClaimCited(c, e, at) {
    const d = e.data;
    if (!c.claims.has(d.claimId)) throw new ParkError(`claim ${d.claimId} is cited but was never recorded`);
    cite(c, e, d, at, true);
  },

  ClaimCorrected(c, e, at) {
    const { seq, knownAt } = at;
    const d = e.data;
    const prev = c.claims.get(d.claimId);
    if (!prev) throw new ParkError(`claim ${d.claimId} is corrected but was never recorded`);
    if (prev.status === 'retracted') throw new ParkError(`claim ${d.claimId} is corrected after its retraction`);
    const ch = d.changes;
    const value = ch.value ?? prev.value;
    const kept = <T>(change: T | null | undefined, previous: T | null): T | null =>
      change === undefined ? previous : change;
    const next: ClaimVersion = {
      ...prev,
      ...currentFrom(seq, knownAt),
      metric: ch.metric ?? prev.metric,
      unit: ch.unit ?? prev.unit,
      ...figureColumns(
        c,
        value,
        ch.statedAt ?? prev.stated_at,
        ch.validFrom ?? prev.valid_from,
        ch.validTo ?? prev.valid_to,
      ),
      quote: ch.quote ?? prev.quote,
      source_id: ch.source?.id ?? prev.source_id,
      via: ch.via ?? prev.via,
      confidence: kept(ch.confidence, prev.confidence),
      likelihood: kept(ch.likelihood, prev.likelihood),
      note: kept(ch.note, prev.note),
      status: 'corrected',
      corrected: true,
    };
    closeClaim(c, prev, at);
    c.addVersion(next, c.claims, d.claimId, c.out.claimVersions);
    revision(c, e, at, { changes: ch, reason: d.reason, before: beforeOf(prev, ch) });
  },

  ClaimRetracted(c, e, at) {
    const d = e.data;
    const prev = c.claims.get(d.claimId);
    if (!prev) throw new ParkError(`claim ${d.claimId} is retracted but was never recorded`);
    if (prev.status === 'retracted') throw new ParkError(`claim ${d.claimId} is retracted twice`);
    const next: ClaimVersion = {
      ...prev,
      ...currentFrom(at.seq, at.knownAt),
      status: 'retracted',
    };
    closeClaim(c, prev, at);
    c.addVersion(next, c.claims, d.claimId, c.out.claimVersions);
    revision(c, e, at, { reason: d.reason, retracted_by: d.by });
  },
};

/**
 * Applies a decoded event to the batch's state and rows (Emmett's `evolve`: the handler of its
 * type). Throws ParkError when the event cannot be applied; the caller parks it.
 */
export function evolve(c: FoldContext, e: ClaimtrailEvent, at: EventAt): void {
  (handlers[e.type] as (c: FoldContext, e: ClaimtrailEvent, at: EventAt) => void)(c, e, at);
}

function closeClaim(c: FoldContext, prev: ClaimVersion, { seq, knownAt }: EventAt): void {
  c.closeVersion(prev, seq, knownAt, (x) => c.out.claimCloses.push({ claim_id: prev.claim_id, ...x }));
}

/** A report citing a claim: the original one (echo false) or a later one repeating it. */
function cite(
  c: FoldContext,
  e: ClaimtrailEvent,
  d: { claimId: string; reportId: string; via: unknown; quote?: string | undefined },
  at: EventAt,
  echo: boolean,
) {
  c.out.citations.push({
    claim_id: d.claimId,
    seq: at.seq,
    known_at: at.knownAt,
    report_id: d.reportId,
    echo,
    via: d.via,
    quote: d.quote ?? null,
  });
  revision(c, e, at, { report_id: d.reportId });
}

/** A figure's columns: the value as stated, its bounds by the schema's rule, and its times as intervals. */
function figureColumns(c: FoldContext, value: ClaimValue, statedAt: string, validFrom: string, validTo: string) {
  const b = c.rule.normalise(value);
  const stated = mustParseFuzzyDate(statedAt);
  const vf = mustParseFuzzyDate(validFrom);
  const vt = mustParseFuzzyDate(validTo);
  return {
    value,
    low: b.low,
    best: b.best,
    high: b.high,
    stated_at: stated.text,
    stated_from: stated.from,
    stated_to: stated.to,
    valid_from: vf.text,
    valid_from_at: vf.from,
    valid_to: vt.text,
    valid_to_at: vt.to,
  };
}

function newVersion(
  c: FoldContext,
  d: EventData<'ClaimRecorded'>,
  { seq, knownAt, recordedAt }: EventAt,
): ClaimVersion {
  return {
    claim_id: d.claimId,
    ...currentFrom(seq, knownAt),
    topic: d.topic,
    metric: d.metric,
    source_id: d.sourceId,
    unit: d.unit,
    ...figureColumns(c, d.value, d.statedAt, d.validFrom, d.validTo),
    rule: c.rule.id,
    quote: d.quote ?? null,
    via: d.via,
    status: 'active',
    first_seq: seq,
    recorded_at: recordedAt,
    report_id: d.reportId,
    confidence: d.confidence ?? null,
    likelihood: d.likelihood ?? null,
    note: d.note ?? null,
    corrected: false,
  };
}

function revision(
  c: FoldContext,
  e: ClaimtrailEvent,
  { seq, knownAt, recordedAt }: EventAt,
  extra: { report_id?: string; changes?: unknown; reason?: string; retracted_by?: string; before?: unknown },
) {
  c.out.revisions.push({
    claim_id: claimIdOfEvent(e)!,
    seq,
    type: e.type,
    recorded_at: recordedAt,
    known_at: knownAt,
    actor: e.actor,
    changes: extra.changes ?? null,
    reason: extra.reason ?? null,
    retracted_by: extra.retracted_by ?? null,
    report_id: extra.report_id ?? null,
    before: extra.before ?? null,
  });
}

/**
 * What a correction replaced: for each field it changes, the value the claim had, named as the
 * correction names it (null where the claim had none).
 */
export function beforeOf(prev: ClaimVersion, changes: ClaimChanges): Record<string, unknown> {
  const was: Record<keyof ClaimChanges, unknown> = {
    value: prev.value,
    unit: prev.unit,
    statedAt: prev.stated_at,
    validFrom: prev.valid_from,
    validTo: prev.valid_to,
    metric: prev.metric,
    quote: prev.quote,
    source: { id: prev.source_id },
    via: prev.via,
    confidence: prev.confidence,
    likelihood: prev.likelihood,
    note: prev.note,
  };
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(changes) as (keyof ClaimChanges)[]) if (changes[k] !== undefined) out[k] = was[k] ?? null;
  return out;
}
