// Valid claimtrail envelopes (as ingest publishes them, see services/ingest/src/report-submission.ts)
// for pre-filling a product stream directly: 6 MetricDefined and 200 SourceRegistered first, then
// reports of 10 claim events each (one ReportSubmitted before them). Of the claim events about
// 90 % are new claims (ClaimRecorded), 5 % corrections (ClaimCorrected) and 5 % echoes
// (ClaimCited) of a recent claim, across 50 topics and 200 sources. Every 50th event is a new
// claim of the "focus" series (topic `focus`, metric `killed`, 20 sources), so a stream of N
// events holds 20 sources × N/1,000 points of it for the history query.
import type { JetStreamClient } from '@nats-io/jetstream';
import { canonicalJson } from '@claimtrail/shared/events';
import { seededRandom } from '@claimtrail/shared/testing';

export const FOCUS_TOPIC = 'focus';
export const FOCUS_METRIC = 'killed';
export const FOCUS_SOURCES = 20;
export const FOCUS_EVERY = 50;
const METRICS = ['killed', 'wounded', 'displaced', 'troops', 'detained', 'missing'];
const SOURCES = 200;
const TOPICS = 50;
const START_MS = Date.UTC(2025, 0, 1);
/** The first report's ReportSubmitted follows the metrics and the sources. */
const FIRST_REPORT = METRICS.length + SOURCES;
/** `recordedAt` of the n-th event (0-based) if it had its own: 10 ms apart (a report's events share the first one's). */
export const recordedAtOf = (n: number): string => new Date(START_MS + n * 10).toISOString();

export interface ProductEvent {
  /** Subject under the stream's prefix, e.g. `claim.topic-3.clm_…`. */
  subject: string;
  json: string;
  type: string;
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** Generates `count` events; `tag` (8 hex digits) makes ids unique to a stream. */
export function* productEvents(count: number, tag: string, seed = 5): Generator<ProductEvent> {
  const r = seededRandom(seed);
  let n = 0;
  let uuidCounter = 0;
  const uuid7 = (ms: number) => {
    const t = hex(ms, 12);
    const c = hex(uuidCounter++, 15);
    return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${c.slice(0, 3)}-a${c.slice(3, 6)}-${tag.slice(0, 3)}${c.slice(6, 15)}`;
  };
  const env = (type: string, data: unknown) => {
    // As ingest records them: every event of a report (from its ReportSubmitted on, 11 events) at
    // the report's instant; the metrics and sources before them one by one.
    const at = n < FIRST_REPORT ? n : n - ((n - FIRST_REPORT) % 11);
    const recordedAt = recordedAtOf(at);
    // Canonical JSON, as ingest publishes (the envelope's keys are in order, `data`'s need sorting).
    const json = canonicalJson({
      actor: 'bench',
      data,
      eventId: uuid7(START_MS + at * 10),
      recordedAt,
      requestId: `bench-${Math.floor(n / 11)}`,
      type,
      version: 1,
    });
    n++;
    return json;
  };
  const emit = (type: string, subject: string, data: unknown): ProductEvent => ({
    type,
    subject,
    json: env(type, data),
  });

  for (const metric of METRICS) {
    if (n >= count) return;
    yield emit('MetricDefined', `metric.${metric}`, {
      metric,
      label: metric,
      unit: 'persons',
      aggregation: 'cumulative',
    });
  }
  for (let s = 0; s < SOURCES; s++) {
    if (n >= count) return;
    yield emit('SourceRegistered', `source.source-${s}`, {
      sourceId: `source-${s}`,
      name: `Source ${s}`,
      kind: 'media',
      country: 'KR',
    });
  }
  // Recent claims, the ones corrections and echoes pick from.
  const RING = 20_000;
  const ring: { claimId: string; topic: string; value: number }[] = [];
  let claimCounter = 0;
  let focusCounter = 0;
  let reportCounter = 0;
  let reportId = '';
  while (n < count) {
    if ((n - FIRST_REPORT) % 11 === 0) {
      reportId = `rpt_${tag}${hex(reportCounter++, 16)}`;
      const day = `2025-${String(1 + (reportCounter % 12)).padStart(2, '0')}-15`;
      yield emit('ReportSubmitted', `report.${reportId}`, {
        reportId,
        url: `https://news.example.org/${tag}/${reportCounter}`,
        publisher: `publisher-${reportCounter % 30}`,
        title: `Report ${reportCounter}`,
        publishedAt: day,
        claimCount: 10,
      });
      continue;
    }
    const roll = r();
    const focus = n % FOCUS_EVERY === 0;
    if (focus || ring.length === 0 || roll < 0.9) {
      const claimId = `clm_${tag}${hex(claimCounter++, 16)}`;
      let topic: string;
      let metric: string;
      let sourceId: string;
      let statedAt: string;
      if (focus) {
        const k = focusCounter++;
        topic = FOCUS_TOPIC;
        metric = FOCUS_METRIC;
        sourceId = `source-${k % FOCUS_SOURCES}`;
        statedAt = new Date(START_MS + Math.floor(k / FOCUS_SOURCES) * 3_600_000).toISOString();
      } else {
        topic = `topic-${Math.floor(r() * TOPICS)}`;
        metric = METRICS[Math.floor(r() * METRICS.length)]!;
        sourceId = `source-${Math.floor(r() * SOURCES)}`;
        statedAt = `2025-${String(1 + Math.floor(r() * 12)).padStart(2, '0')}-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}`;
      }
      const value = Math.floor(r() * 100_000);
      if (ring.length < RING) ring.push({ claimId, topic, value });
      else ring[claimCounter % RING] = { claimId, topic, value };
      yield emit('ClaimRecorded', `claim.${topic}.${claimId}`, {
        claimId,
        reportId,
        topic,
        metric,
        value: { kind: 'approx', value },
        unit: 'persons',
        sourceId,
        via: [{ id: 'wire-service', role: 'relay' }],
        statedAt,
        validFrom: statedAt,
        validTo: statedAt,
        quote: `officials said about ${value} people were affected, a figure that could rise`,
      });
    } else {
      const prior = ring[Math.floor(r() * ring.length)]!;
      if (roll < 0.95) {
        prior.value = Math.floor(prior.value * (1 + r() * 0.2));
        yield emit('ClaimCorrected', `claim.${prior.topic}.${prior.claimId}`, {
          claimId: prior.claimId,
          changes: { value: { kind: 'approx', value: prior.value } },
          reason: 'the figure was mistranscribed',
        });
      } else {
        yield emit('ClaimCited', `claim.${prior.topic}.${prior.claimId}`, {
          claimId: prior.claimId,
          reportId,
          via: [],
          quote: 'the same figure, repeated',
        });
      }
    }
  }
}

/** Publishes `count` generated events to `prefix`.<subject>, `inFlight` acks outstanding. */
export async function publishProductEvents(
  js: JetStreamClient,
  prefix: string,
  count: number,
  tag: string,
  inFlight = 256,
): Promise<{ types: Record<string, number> }> {
  const gen = productEvents(count, tag);
  const enc = new TextEncoder();
  const types: Record<string, number> = {};
  const worker = async () => {
    for (;;) {
      const next = gen.next();
      if (next.done) return;
      const e = next.value;
      types[e.type] = (types[e.type] ?? 0) + 1;
      await js.publish(`${prefix}.${e.subject}`, enc.encode(e.json));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { types };
}
