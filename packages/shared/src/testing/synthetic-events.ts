import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { canonicalJson } from '../events/canonical-json.ts';
import { CONFIDENCE_LEVELS, REPORT_KINDS, type EventData, type EventType } from '../events/schemas.ts';
import { createSubjects } from '../events/subjects.ts';
import { createEnvelope } from '../envelope.ts';
import { sha256Hex } from '../identity.ts';
import { seededRandom } from './seeded-random.ts';

type ValueKind = 'approx' | 'exact' | 'range' | 'at_least';

/** A claim series every `every`-th event adds a point to, for queries over one long series. */
export interface FocusSeries {
  topic: string;
  metric: string;
  /** Its points cycle through `source-0` … `source-<sources - 1>`, an hour apart per round. */
  sources: number;
  every: number;
}

/**
 * Optional fields of the current event versions, added to every new claim (and to every report):
 * each as ingest writes it. None by default, so the same seed gives the same events as without.
 * They take nothing from the random sequence: with or without them, the claims are the same.
 */
export interface SyntheticFields {
  /** A range carries its `best` figure, inside low..high. */
  best?: boolean;
  /** The source's `confidence` and `likelihood`. */
  qualifiers?: boolean;
  /** The analyst's `note`, about 60 characters. */
  note?: boolean;
  /**
   * The via hop carries its source's name; as ingest does, each report then registers that
   * source: a SourceRegistered right after its ReportSubmitted, at the same instant, beside the
   * `count` events (the claims stay the same).
   */
  viaNames?: boolean;
  /** ReportSubmitted carries the report's `kind`. */
  reportKind?: boolean;
}

export interface SyntheticEventsOptions {
  /** Events to generate, besides the source registrations `fields.viaNames` adds. */
  count: number;
  /** The stream's subject prefix. */
  prefix: string;
  /** The same seed gives the same events; ids are the seed's own, so two seeds share a stream. */
  seed?: number | string;
  /** `recordedAt` of the first event (ms). */
  startMs?: number;
  /** Time per event position; every event of a report is recorded at its ReportSubmitted's instant. */
  stepMs?: number;
  actor?: string;
  topics?: readonly string[];
  metrics?: readonly string[];
  /** Claims name `source-0` … `source-<sources - 1>`. */
  sources?: number;
  /** A MetricDefined of every metric and a SourceRegistered of every source before the reports. */
  preamble?: boolean;
  /** Claim events after each ReportSubmitted. */
  claimsPerReport?: number;
  /** Shares of the claim events that correct, echo (ClaimCited) or retract a recent claim, or rename a source; the rest record new claims. */
  mix?: { corrected?: number; cited?: number; retracted?: number; renamed?: number };
  valueKinds?: readonly ValueKind[];
  focus?: FocusSeries;
  /** The quote of the k-th new claim. */
  quote?: (k: number, value: number) => string;
  fields?: SyntheticFields;
}

export interface SyntheticEvent {
  /** Full subject, under the prefix. */
  subject: string;
  type: EventType;
  payload: string;
  /** The claim an event of a claim is about. */
  claimId?: string;
}

const DEFAULTS = {
  seed: 1,
  startMs: Date.UTC(2025, 0, 1),
  stepMs: 200,
  actor: 'synthetic',
  topics: ['dprk-troops-in-russia', 'flood-displaced', 'strike-casualties'],
  metrics: ['killed', 'wounded', 'deployed'],
  sources: 37,
  preamble: false,
  claimsPerReport: 10,
  mix: { corrected: 0.045, cited: 0.035, retracted: 0.01, renamed: 0.01 },
  valueKinds: ['approx', 'exact', 'range', 'at_least'] as const,
  quote: (k: number) => `claim ${k}`,
};

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const VIA_SOURCE = 'wire-service';
const VIA_NAME = 'Wire Service';
const LIKELIHOODS = ['likely', 'highly likely', 'realistic possibility', 'unlikely'] as const;
const preambleLength = (o: SyntheticEventsOptions) =>
  o.preamble ? (o.metrics ?? DEFAULTS.metrics).length + (o.sources ?? DEFAULTS.sources) : 0;

/** `recordedAt` of the n-th (0-based) event `syntheticEvents(o)` generates. */
export function syntheticRecordedAt(o: SyntheticEventsOptions, n: number): string {
  const first = preambleLength(o);
  const perReport = (o.claimsPerReport ?? DEFAULTS.claimsPerReport) + 1;
  const at = n < first ? n : n - ((n - first) % perReport);
  return new Date((o.startMs ?? DEFAULTS.startMs) + at * (o.stepMs ?? DEFAULTS.stepMs)).toISOString();
}

/**
 * Valid claimtrail events as ingest writes them (envelopes from createEnvelope, canonical JSON):
 * optionally every metric and source defined first, then reports of `claimsPerReport` claim
 * events each, of which `mix` shares correct, echo or retract a recent claim or rename a source,
 * and the rest record new claims across `topics`, `metrics` and `sources`. Generated lazily, so a
 * million events never sit in memory at once.
 */
export function* syntheticEvents(o: SyntheticEventsOptions): Generator<SyntheticEvent> {
  const seed = String(o.seed ?? DEFAULTS.seed);
  const seedHash = sha256Hex(`synthetic\n${seed}`);
  const r = seededRandom(typeof o.seed === 'number' ? o.seed : parseInt(seedHash.slice(0, 8), 16));
  const tag = seedHash.slice(8, 16);
  const s = createSubjects(o.prefix);
  const actor = o.actor ?? DEFAULTS.actor;
  const topics = o.topics ?? DEFAULTS.topics;
  const metrics = o.metrics ?? DEFAULTS.metrics;
  const sources = o.sources ?? DEFAULTS.sources;
  const claimsPerReport = o.claimsPerReport ?? DEFAULTS.claimsPerReport;
  const kinds = o.valueKinds ?? DEFAULTS.valueKinds;
  const quote = o.quote ?? DEFAULTS.quote;
  const mix = { ...DEFAULTS.mix, ...o.mix };
  const corrected = mix.corrected;
  const cited = corrected + mix.cited;
  const retracted = cited + mix.retracted;
  const renamed = retracted + mix.renamed;
  const first = preambleLength(o);
  const focus = o.focus;
  const fields = o.fields ?? {};
  const hop = fields.viaNames
    ? { id: VIA_SOURCE, name: VIA_NAME, role: 'relay' as const }
    : { id: VIA_SOURCE, role: 'relay' as const };
  let n = 0;

  const envelopeAt = <T extends EventType>(type: T, data: EventData<T>, at: number, seedOf: string) =>
    createEnvelope(type, data, {
      recordedAt: syntheticRecordedAt(o, at),
      actor,
      requestId: `${actor}-${at < first ? at : Math.floor((at - first) / (claimsPerReport + 1))}`,
      seed: seedOf,
    });
  const emit = <T extends EventType>(type: T, subject: string, data: EventData<T>, claimId?: string) => {
    const event = envelopeAt(type, data, n, `${seed}\n${n}`);
    n += 1;
    return { subject, type, payload: canonicalJson(event), claimId };
  };

  if (o.preamble) {
    for (const metric of metrics) {
      if (n >= o.count) return;
      yield emit('MetricDefined', s.metric(metric), {
        aggregation: 'cumulative',
        label: metric,
        metric,
        unit: 'persons',
      });
    }
    for (let i = 0; i < sources; i++) {
      if (n >= o.count) return;
      const sourceId = `source-${i}`;
      yield emit('SourceRegistered', s.source(sourceId), {
        country: 'KR',
        kind: 'media',
        name: `Source ${i}`,
        sourceId,
      });
    }
  }
  // Recent live claims, the ones corrections, echoes and retractions pick from.
  const RING = 20_000;
  const ring: { claimId: string; topic: string; value: number }[] = [];
  let claims = 0;
  let points = 0;
  let reports = 0;
  let reportId = '';
  while (n < o.count) {
    if ((n - first) % (claimsPerReport + 1) === 0) {
      reportId = `rpt_${tag}${hex(reports++, 16)}`;
      // Keys in canonical (sorted) order, as ingest writes them.
      yield emit('ReportSubmitted', s.report(reportId), {
        claimCount: claimsPerReport,
        ...(fields.reportKind ? { kind: REPORT_KINDS[reports % REPORT_KINDS.length]! } : {}),
        publishedAt: `2025-${String(1 + (reports % 12)).padStart(2, '0')}-15`,
        publisher: `publisher-${reports % 30}`,
        reportId,
        title: `Report ${reports}`,
        url: `https://example.org/${tag}/${reports}`,
      });
      if (fields.viaNames && n < o.count) {
        const at = n - 1;
        const data = { name: VIA_NAME, sourceId: VIA_SOURCE };
        const event = envelopeAt('SourceRegistered', data, at, `${seed}\n${at}\nvia`);
        yield { subject: s.source(VIA_SOURCE), type: 'SourceRegistered', payload: canonicalJson(event) };
      }
      continue;
    }
    const roll = r();
    const isFocus = focus !== undefined && n % focus.every === 0;
    if (!isFocus && ring.length > 0 && roll < renamed) {
      const i = Math.floor(r() * ring.length);
      const prior = ring[i]!;
      if (roll < corrected) {
        prior.value = Math.floor(prior.value * (1 + r() * 0.2));
        yield emit(
          'ClaimCorrected',
          s.claim(prior.topic, prior.claimId),
          {
            changes: { value: { kind: 'approx', value: prior.value } },
            claimId: prior.claimId,
            reason: 'the figure was mistranscribed',
          },
          prior.claimId,
        );
      } else if (roll < cited) {
        yield emit(
          'ClaimCited',
          s.claim(prior.topic, prior.claimId),
          { claimId: prior.claimId, quote: 'the same figure, repeated', reportId, via: [] },
          prior.claimId,
        );
      } else if (roll < retracted) {
        // A retracted claim is corrected or echoed no more.
        ring[i] = ring[ring.length - 1]!;
        ring.pop();
        yield emit(
          'ClaimRetracted',
          s.claim(prior.topic, prior.claimId),
          { by: 'source', claimId: prior.claimId, reason: 'withdrawn' },
          prior.claimId,
        );
      } else {
        const k = Math.floor(r() * sources);
        const sourceId = `source-${k}`;
        yield emit('SourceRegistered', s.source(sourceId), { kind: 'media', name: `Source ${k} v${n}`, sourceId });
      }
      continue;
    }
    const claimId = `clm_${tag}${hex(claims++, 16)}`;
    let topic: string;
    let metric: string;
    let sourceId: string;
    let statedAt: string;
    if (isFocus) {
      const k = points++;
      topic = focus.topic;
      metric = focus.metric;
      sourceId = `source-${k % focus.sources}`;
      statedAt = new Date((o.startMs ?? DEFAULTS.startMs) + Math.floor(k / focus.sources) * 3_600_000).toISOString();
    } else {
      topic = topics[Math.floor(r() * topics.length)]!;
      metric = metrics[Math.floor(r() * metrics.length)]!;
      sourceId = `source-${Math.floor(r() * sources)}`;
      statedAt = `2025-${String(1 + Math.floor(r() * 12)).padStart(2, '0')}-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}`;
    }
    const v = Math.floor(r() * 100_000);
    const kind = kinds.length === 1 ? kinds[0]! : kinds[Math.floor(r() * kinds.length)]!;
    const value =
      kind !== 'range'
        ? { kind, value: v }
        : fields.best
          ? { best: v + (v % 501), high: v + 500, kind, low: v }
          : { high: v + 500, kind, low: v };
    if (ring.length < RING) ring.push({ claimId, topic, value: v });
    else ring[claims % RING] = { claimId, topic, value: v };
    yield emit(
      'ClaimRecorded',
      s.claim(topic, claimId),
      {
        claimId,
        ...(fields.qualifiers
          ? { confidence: CONFIDENCE_LEVELS[claims % CONFIDENCE_LEVELS.length]!, likelihood: LIKELIHOODS[claims % 4]! }
          : {}),
        metric,
        ...(fields.note ? { note: `excludes ${topic} figures from areas out of reach since ${statedAt}` } : {}),
        quote: quote(claims - 1, v),
        reportId,
        sourceId,
        statedAt,
        topic,
        unit: 'persons',
        validFrom: statedAt,
        validTo: statedAt,
        value,
        via: [hop],
      },
      claimId,
    );
  }
}

/**
 * Publishes events with up to `window` acks in flight. Returns the last seq, the count of each
 * type and the first claim a correction names.
 */
export async function publishSyntheticEvents(
  nc: NatsConnection,
  events: Iterable<SyntheticEvent>,
  window = 256,
): Promise<{ lastSeq: number; types: Partial<Record<EventType, number>>; correctedClaimId: string | undefined }> {
  const js = jetstream(nc, { timeout: 30_000 });
  const inFlight = new Set<Promise<void>>();
  const types: Partial<Record<EventType, number>> = {};
  let correctedClaimId: string | undefined;
  let lastSeq = 0;
  let failure: Error | undefined;
  for (const e of events) {
    if (failure) break;
    types[e.type] = (types[e.type] ?? 0) + 1;
    if (e.type === 'ClaimCorrected') correctedClaimId ??= e.claimId;
    const p: Promise<void> = js
      .publish(e.subject, e.payload)
      .then((ack) => {
        if (ack.seq > lastSeq) lastSeq = ack.seq;
      })
      .catch((err: unknown) => {
        failure ??= err instanceof Error ? err : new Error(String(err));
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  return { lastSeq, types, correctedClaimId };
}
