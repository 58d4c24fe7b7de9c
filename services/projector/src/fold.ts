import {
  getNormalisationRule,
  mustParseFuzzyDate,
  type ClaimChanges,
  type ClaimtrailEvent,
  type ClaimValue,
  type EventData,
  type NormalisationRule,
} from '@claimtrail/shared/events';
import { chainHashOfCanonical } from '@claimtrail/shared/identity';
import type { RowOf } from '@claimtrail/shared/db';
import { preparePayload, type Prepared } from './prepare.ts';

/** The version columns of a row that becomes current at `seq` (transaction time `knownAt`). */
function currentFrom(seq: number, knownAt: string) {
  return { seq_from: seq, seq_to: null, known_from: knownAt, known_to: null };
}

/** One stream message as the projector sees it. */
export interface StreamMessage {
  seq: number;
  subject: string;
  payload: string;
  /** The server's store time, used only when the payload has no readable recordedAt. */
  time: string;
}

/** A claim's version row; the registry's row type with the value and status as the fold knows them. */
export type ClaimVersion = Omit<RowOf<'claim_versions'>, 'value' | 'status'> & {
  value: ClaimValue;
  status: 'active' | 'corrected' | 'retracted';
};
export type SourceVersion = RowOf<'sources'>;
export type MetricVersion = RowOf<'metrics'>;

/**
 * State of the keys a batch names: what the fold reads before a batch (from the database, with
 * the batches not yet committed laid over it) and what it knows after it (`FoldOutput.after`).
 */
export interface FoldState {
  /** Current version of each claim (absent: unknown claim). */
  claims: Map<string, ClaimVersion>;
  sources: Map<string, SourceVersion>;
  metrics: Map<string, MetricVersion>;
  /** Claims with an earlier parked event, and that event's seq. */
  parked: Map<string, number>;
  /** Event ids already in the ledger, with their seq. */
  seenEventIds: Map<string, number>;
  reports: Set<string>;
}

/** What the fold needs to know of the read models before a batch: the checkpoint and the state. */
export interface FoldInput extends FoldState {
  lastSeq: number;
  chainHash: string;
  knownAt: string | null;
  /**
   * Events Postgres refused to store (by seq, with its reason): each is parked instead of
   * applied, and its rows hold only what Postgres can store (see createBatchPipeline).
   */
  refused?: ReadonlyMap<number, string>;
}

/** Text Postgres can store: it cannot hold U+0000, which is written as U+FFFD. */
function storable(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}

/** The rows a batch writes. Version rows carry their final `seq_to`; `closes` end rows already stored. */
export interface FoldOutput {
  lastSeq: number;
  chainHash: string;
  knownAt: string | null;
  applied: number;
  ledger: RowOf<'event_ledger'>[];
  repeats: RowOf<'event_repeats'>[];
  deadLetters: RowOf<'dead_letters'>[];
  reports: RowOf<'reports'>[];
  claimVersions: ClaimVersion[];
  claimCloses: { claim_id: string; seq_from: number; seq_to: number; known_to: string }[];
  sourceVersions: SourceVersion[];
  sourceCloses: { source_id: string; seq_from: number; seq_to: number; known_to: string }[];
  metricVersions: MetricVersion[];
  metricCloses: { metric: string; seq_from: number; seq_to: number; known_to: string }[];
  citations: RowOf<'claim_citations'>[];
  revisions: RowOf<'claim_revisions'>[];
  topics: RowOf<'topics'>[];
  /** The state of every key the batch loaded or touched, after it (not written: see FoldState). */
  after: FoldState;
}

class ParkError extends Error {}

function claimIdOfEvent(e: ClaimtrailEvent): string | undefined {
  return 'claimId' in e.data ? e.data.claimId : undefined;
}

export function bounds(rule: NormalisationRule, value: ClaimValue) {
  return rule.normalise(value);
}

/**
 * A message came that is not the one after the last applied, on a stream where every seq is an
 * event of ours: something between the stream and this fold dropped messages (a consumer shared
 * with another projector, say). Folding on would skip them for ever.
 */
export class SeqGapError extends Error {
  constructor(expected: number, got: number) {
    super(`expected stream seq ${expected} next, got ${got}: messages are missing`);
    this.name = 'SeqGapError';
  }
}

export interface FoldOptions {
  /** Every stream seq is an event of ours (the stream holds only our subjects): a gap is an error. */
  contiguous?: boolean;
}

/**
 * Folds a batch of stream messages into row changes. Pure: the same input always gives the same
 * output, so the live projector, a replay and a crash-restarted projector agree row for row.
 */
export function foldBatch(
  input: FoldInput,
  messages: readonly StreamMessage[],
  ruleId: string,
  o: FoldOptions = {},
): FoldOutput {
  const rule = getNormalisationRule(ruleId);
  if (!rule) throw new Error(`unknown normalisation rule ${ruleId}`);
  const out: Omit<FoldOutput, 'after'> = {
    lastSeq: input.lastSeq,
    chainHash: input.chainHash,
    knownAt: input.knownAt,
    applied: 0,
    ledger: [],
    repeats: [],
    deadLetters: [],
    reports: [],
    claimVersions: [],
    claimCloses: [],
    sourceVersions: [],
    sourceCloses: [],
    metricVersions: [],
    metricCloses: [],
    citations: [],
    revisions: [],
    topics: [],
  };
  const claims = new Map(input.claims);
  const sources = new Map(input.sources);
  const metrics = new Map(input.metrics);
  const parked = new Map(input.parked);
  const seen = new Map(input.seenEventIds);
  const reports = new Set(input.reports);
  // Versions created in this batch, so a later event in the same batch closes them in memory.
  const fresh = new Set<object>();

  /** Ends a version: in memory when this batch made it, else by an update of the stored row. */
  const closeVersion = (
    prev: { seq_from: number; seq_to: number | null; known_to: string | null },
    seq: number,
    knownAt: string,
    stored: (c: { seq_from: number; seq_to: number; known_to: string }) => void,
  ) => {
    if (fresh.has(prev)) {
      prev.seq_to = seq;
      prev.known_to = knownAt;
    } else stored({ seq_from: prev.seq_from, seq_to: seq, known_to: knownAt });
  };
  /** A new current version: made in this batch (so a later event of the batch closes it in memory). */
  const addVersion = <V extends object>(next: V, current: Map<string, V>, key: string, rows: V[]) => {
    fresh.add(next);
    current.set(key, next);
    rows.push(next);
  };
  const closeClaim = (prev: ClaimVersion, seq: number, knownAt: string) =>
    closeVersion(prev, seq, knownAt, (c) => out.claimCloses.push({ claim_id: prev.claim_id, ...c }));

  // A report's events share one recordedAt: normalise it once, not once an event.
  let recordedIn: string | undefined;
  let recordedOut = '';
  const isoOf = (s: string) =>
    s === recordedIn ? recordedOut : ((recordedIn = s), (recordedOut = new Date(s).toISOString()));

  for (const m of messages) {
    if (m.seq <= out.lastSeq) continue;
    if (o.contiguous && m.seq !== out.lastSeq + 1) throw new SeqGapError(out.lastSeq + 1, m.seq);
    const { decoded, canonical, loose } = preparedOf(m);
    forgetPrepared(m);
    const eventId = decoded.ok ? decoded.event.eventId : (loose.eventId ?? null);

    if (decoded.ok) {
      const first = seen.get(decoded.event.eventId);
      if (first !== undefined) {
        out.repeats.push({ seq: m.seq, event_id: decoded.event.eventId, first_seq: first });
        out.lastSeq = m.seq;
        continue;
      }
      seen.set(decoded.event.eventId, m.seq);
    }

    const recordedAt = decoded.ok ? isoOf(decoded.event.recordedAt) : m.time;
    // Transaction time never runs backwards, even when ingest clocks disagree.
    const knownAt = out.knownAt !== null && out.knownAt > recordedAt ? out.knownAt : recordedAt;
    out.knownAt = knownAt;
    out.lastSeq = m.seq;
    // The chain hashes the canonical text of the event (chainHash in identity.ts), which the
    // prepared payload holds (null: the payload itself).
    out.chainHash = chainHashOfCanonical(out.chainHash, canonical ?? m.payload);
    const claimId = decoded.ok ? claimIdOfEvent(decoded.event) : loose.claimId;
    const refusal = input.refused?.get(m.seq);
    if (refusal !== undefined) {
      // Only what the ledger and the dead letters need, and nothing Postgres could refuse again.
      out.ledger.push({
        seq: m.seq,
        subject: storable(m.subject),
        // A decoded event's id and type passed its schema (a UUID, a known name).
        event_id: decoded.ok ? decoded.event.eventId : null,
        type: decoded.ok ? decoded.event.type : null,
        version: null,
        recorded_at: null,
        known_at: knownAt,
        actor: null,
        claim_id: claimId ?? null,
        topic: null,
        payload: storable(m.payload),
        chain_hash: out.chainHash,
      });
      out.deadLetters.push({
        seq: m.seq,
        subject: storable(m.subject),
        event_id: decoded.ok ? decoded.event.eventId : null,
        type: decoded.ok ? decoded.event.type : null,
        claim_id: claimId ?? null,
        reason: refusal,
        payload: storable(m.payload),
      });
      if (claimId !== undefined && !parked.has(claimId)) parked.set(claimId, m.seq);
      continue;
    }
    out.ledger.push({
      seq: m.seq,
      subject: m.subject,
      // A decoded event's id passed the schema's UUID check; a loose one's is kept only if it looks like one.
      event_id: decoded.ok ? eventId : eventId !== null && /^[0-9a-f-]{36}$/i.test(eventId) ? eventId : null,
      type: decoded.ok ? decoded.event.type : null,
      version: decoded.ok ? decoded.event.version : null,
      recorded_at: decoded.ok ? recordedAt : null,
      known_at: knownAt,
      actor: decoded.ok ? decoded.event.actor : null,
      claim_id: claimId ?? null,
      topic:
        decoded.ok && decoded.event.type === 'ClaimRecorded'
          ? decoded.event.data.topic
          : decoded.ok && claimId
            ? (claims.get(claimId)?.topic ?? null)
            : null,
      payload: m.payload,
      chain_hash: out.chainHash,
    });

    const park = (reason: string) => {
      out.deadLetters.push({
        seq: m.seq,
        subject: m.subject,
        event_id: eventId,
        type: decoded.ok ? decoded.event.type : null,
        claim_id: claimId ?? null,
        reason,
        payload: m.payload,
      });
      if (claimId !== undefined && !parked.has(claimId)) parked.set(claimId, m.seq);
    };

    if (!decoded.ok) {
      park(decoded.reason);
      continue;
    }
    const e = decoded.event;
    if (claimId !== undefined && parked.has(claimId)) {
      park(`waiting behind the parked event at seq ${parked.get(claimId)} of claim ${claimId}`);
      continue;
    }
    try {
      applyEvent(e, m.seq, knownAt, recordedAt);
      out.applied += 1;
    } catch (err) {
      if (err instanceof ParkError) park(err.message);
      else throw err;
    }
  }
  return { ...out, after: { claims, sources, metrics, parked, seenEventIds: seen, reports } };

  function applyEvent(e: ClaimtrailEvent, seq: number, knownAt: string, recordedAt: string): void {
    switch (e.type) {
      case 'ReportSubmitted': {
        const d = e.data;
        if (reports.has(d.reportId)) throw new ParkError(`report ${d.reportId} was submitted before`);
        reports.add(d.reportId);
        out.reports.push({
          report_id: d.reportId,
          seq,
          known_at: knownAt,
          url: d.url,
          publisher: d.publisher,
          title: d.title ?? null,
          published_at: d.publishedAt,
          published_from: mustParseFuzzyDate(d.publishedAt).from,
          language: d.language ?? null,
          retrieved_at: d.retrievedAt ?? null,
          kind: d.kind ?? null,
        });
        return;
      }
      case 'TopicDefined': {
        const d = e.data;
        out.topics.push({
          topic: d.topic,
          seq,
          known_at: knownAt,
          label: d.label,
          description: d.description ?? null,
        });
        return;
      }
      case 'SourceRegistered': {
        const d = e.data;
        const prev = sources.get(d.sourceId);
        const next: SourceVersion = {
          source_id: d.sourceId,
          ...currentFrom(seq, knownAt),
          name: d.name ?? prev?.name ?? null,
          kind: d.kind ?? prev?.kind ?? null,
          country: d.country ?? prev?.country ?? null,
        };
        if (prev && prev.name === next.name && prev.kind === next.kind && prev.country === next.country) return;
        if (prev) closeVersion(prev, seq, knownAt, (c) => out.sourceCloses.push({ source_id: prev.source_id, ...c }));
        addVersion(next, sources, d.sourceId, out.sourceVersions);
        return;
      }
      case 'MetricDefined': {
        const d = e.data;
        const prev = metrics.get(d.metric);
        const next: MetricVersion = {
          metric: d.metric,
          ...currentFrom(seq, knownAt),
          label: d.label,
          unit: d.unit,
          aggregation: d.aggregation,
          composed_of: d.composedOf ?? null,
        };
        if (prev) closeVersion(prev, seq, knownAt, (c) => out.metricCloses.push({ metric: prev.metric, ...c }));
        addVersion(next, metrics, d.metric, out.metricVersions);
        return;
      }
      case 'ClaimRecorded': {
        const d = e.data;
        if (claims.has(d.claimId)) throw new ParkError(`claim ${d.claimId} was recorded before`);
        const v = newVersion(d, seq, knownAt, recordedAt);
        addVersion(v, claims, d.claimId, out.claimVersions);
        cite(e, d, seq, knownAt, recordedAt, false);
        return;
      }
      case 'ClaimCited': {
        const d = e.data;
        if (!claims.has(d.claimId)) throw new ParkError(`claim ${d.claimId} is cited but was never recorded`);
        cite(e, d, seq, knownAt, recordedAt, true);
        return;
      }
      case 'ClaimCorrected': {
        const d = e.data;
        const prev = claims.get(d.claimId);
        if (!prev) throw new ParkError(`claim ${d.claimId} is corrected but was never recorded`);
        if (prev.status === 'retracted') throw new ParkError(`claim ${d.claimId} is corrected after its retraction`);
        const c = d.changes;
        const value = c.value ?? prev.value;
        const kept = <T>(change: T | null | undefined, previous: T | null): T | null =>
          change === undefined ? previous : change;
        const b = rule!.normalise(value);
        const stated = mustParseFuzzyDate(c.statedAt ?? prev.stated_at);
        const vf = mustParseFuzzyDate(c.validFrom ?? prev.valid_from);
        const vt = mustParseFuzzyDate(c.validTo ?? prev.valid_to);
        const next: ClaimVersion = {
          ...prev,
          ...currentFrom(seq, knownAt),
          metric: c.metric ?? prev.metric,
          unit: c.unit ?? prev.unit,
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
          quote: c.quote ?? prev.quote,
          source_id: c.source?.id ?? prev.source_id,
          via: c.via ?? prev.via,
          confidence: kept(c.confidence, prev.confidence),
          likelihood: kept(c.likelihood, prev.likelihood),
          note: kept(c.note, prev.note),
          status: 'corrected',
          corrected: true,
        };
        closeClaim(prev, seq, knownAt);
        addVersion(next, claims, d.claimId, out.claimVersions);
        revision(e, seq, knownAt, recordedAt, { changes: c, reason: d.reason, before: beforeOf(prev, c) });
        return;
      }
      case 'ClaimRetracted': {
        const d = e.data;
        const prev = claims.get(d.claimId);
        if (!prev) throw new ParkError(`claim ${d.claimId} is retracted but was never recorded`);
        if (prev.status === 'retracted') throw new ParkError(`claim ${d.claimId} is retracted twice`);
        const next: ClaimVersion = {
          ...prev,
          ...currentFrom(seq, knownAt),
          status: 'retracted',
        };
        closeClaim(prev, seq, knownAt);
        addVersion(next, claims, d.claimId, out.claimVersions);
        revision(e, seq, knownAt, recordedAt, { reason: d.reason, retracted_by: d.by });
        return;
      }
    }
  }

  /** A report citing a claim: the original one (echo false) or a later one repeating it. */
  function cite(
    e: ClaimtrailEvent,
    d: { claimId: string; reportId: string; via: unknown; quote?: string | undefined },
    seq: number,
    knownAt: string,
    recordedAt: string,
    echo: boolean,
  ) {
    out.citations.push({
      claim_id: d.claimId,
      seq,
      known_at: knownAt,
      report_id: d.reportId,
      echo,
      via: d.via,
      quote: d.quote ?? null,
    });
    revision(e, seq, knownAt, recordedAt, { report_id: d.reportId });
  }

  function newVersion(d: EventData<'ClaimRecorded'>, seq: number, knownAt: string, recordedAt: string): ClaimVersion {
    const b = rule!.normalise(d.value);
    const stated = mustParseFuzzyDate(d.statedAt);
    const vf = mustParseFuzzyDate(d.validFrom);
    const vt = mustParseFuzzyDate(d.validTo);
    const v: ClaimVersion = {
      claim_id: d.claimId,
      ...currentFrom(seq, knownAt),
      topic: d.topic,
      metric: d.metric,
      source_id: d.sourceId,
      unit: d.unit,
      value: d.value,
      low: b.low,
      best: b.best,
      high: b.high,
      rule: rule!.id,
      stated_at: stated.text,
      stated_from: stated.from,
      stated_to: stated.to,
      valid_from: vf.text,
      valid_from_at: vf.from,
      valid_to: vt.text,
      valid_to_at: vt.to,
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
    return v;
  }

  function revision(
    e: ClaimtrailEvent,
    seq: number,
    knownAt: string,
    recordedAt: string,
    extra: { report_id?: string; changes?: unknown; reason?: string; retracted_by?: string; before?: unknown },
  ) {
    out.revisions.push({
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

const PREPARED = Symbol('prepared');

/**
 * A message's payload prepared once (decoded, canonical text, loose ids), kept on the message
 * itself: the store reads the ids a batch touches before the fold runs, and both need it. (A
 * WeakMap from message to prepared payload did the same, but its entries cost the collector
 * far more than a property does.)
 */
function preparedOf(m: StreamMessage): Prepared {
  const slot = m as StreamMessage & { [PREPARED]?: Prepared };
  return (slot[PREPARED] ??= preparePayload(m.payload));
}

/**
 * Drops a message's prepared payload once the fold has it: what the fold keeps of it is in its
 * rows, and the parsed and decoded trees would otherwise live, and be copied by every young
 * collection, until the batch is committed. A refold prepares it again.
 */
function forgetPrepared(m: StreamMessage): void {
  (m as StreamMessage & { [PREPARED]?: Prepared })[PREPARED] = undefined;
}

/**
 * Prepares the payloads of messages[from, to) now, so that idsOfBatch and the fold find them
 * prepared (the pipeline does a batch a slice at a time, between turns of the event loop).
 */
export function prepareMessages(messages: readonly StreamMessage[], from: number, to: number): void {
  for (let i = from; i < to; i += 1) preparedOf(messages[i]!);
}

/** The ids a batch touches (idsOfBatch). */
export type BatchIds = ReturnType<typeof idsOfBatch>;

/** Ids a batch touches, so the store can load just their current state. */
export function idsOfBatch(messages: readonly StreamMessage[]) {
  const claimIds = new Set<string>();
  const sourceIds = new Set<string>();
  const metricNames = new Set<string>();
  const eventIds = new Set<string>();
  const reportIds = new Set<string>();
  for (const m of messages) {
    const { loose } = preparedOf(m);
    if (loose.eventId !== undefined) eventIds.add(loose.eventId);
    if (loose.claimId !== undefined) claimIds.add(loose.claimId);
    if (loose.type === 'SourceRegistered' && loose.sourceId !== undefined) sourceIds.add(loose.sourceId);
    if (loose.type === 'MetricDefined' && loose.metric !== undefined) metricNames.add(loose.metric);
    if (loose.type === 'ReportSubmitted' && loose.reportId !== undefined) reportIds.add(loose.reportId);
  }
  return { claimIds, sourceIds, metricNames, eventIds, reportIds };
}
