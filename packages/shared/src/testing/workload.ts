import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { canonicalJson } from '../events/canonical-json.ts';
import { createSubjects } from '../events/subjects.ts';
import { claimIdOf, messageIdOf, reportIdOf, uuidv7 } from '../identity.ts';

/** mulberry32: a small seeded generator, so every run builds the same workload. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface WorkloadMessage {
  subject: string;
  payload: string;
  msgId: string;
}

const METRICS = ['killed', 'wounded', 'killed_or_wounded', 'deployed', 'displaced'];

/**
 * Valid claimtrail events: one report per 10 claims, then about 90 % new claims, 5 % corrections
 * and 5 % echoes (ClaimCited) across `topics` topics and `sources` sources. Generated lazily, so
 * a million events never sit in memory at once.
 */
export function* workload(o: {
  events: number;
  prefix: string;
  seed?: number;
  topics?: number;
  sources?: number;
  start?: Date;
}): Generator<WorkloadMessage> {
  const r = seededRandom(o.seed ?? 1);
  const topics = o.topics ?? 50;
  const sources = o.sources ?? 200;
  const s = createSubjects(o.prefix);
  const t0 = (o.start ?? new Date('2026-01-01T00:00:00Z')).getTime();
  const recent: { claimId: string; topic: string }[] = [];
  let reportId = '';
  let made = 0;
  let i = 0;
  const env = (type: string, data: object) =>
    canonicalJson({
      eventId: uuidv7(t0 + i, `wl${o.seed ?? 1}-${i}`),
      type,
      version: 1,
      recordedAt: new Date(t0 + i).toISOString(),
      actor: 'workload',
      requestId: `wl-${i}`,
      data,
    });
  while (made < o.events) {
    i += 1;
    const msgId = messageIdOf('workload', String(o.seed ?? 1), i);
    if (made % 10 === 0) {
      reportId = reportIdOf(`workload-${o.seed ?? 1}-${i}`);
      yield {
        subject: s.report(reportId),
        msgId,
        payload: env('ReportSubmitted', {
          reportId,
          url: `https://example.org/r/${i}`,
          publisher: 'Workload Wire',
          publishedAt: '2025-06-01',
          claimCount: 10,
        }),
      };
      made += 1;
      continue;
    }
    const roll = r();
    const pick = recent.length > 0 ? recent[Math.floor(r() * recent.length)]! : undefined;
    if (pick && roll < 0.05) {
      yield {
        subject: s.claim(pick.topic, pick.claimId),
        msgId,
        payload: env('ClaimCorrected', {
          claimId: pick.claimId,
          changes: { quote: `corrected quote ${i}` },
          reason: 'transcription fix',
        }),
      };
    } else if (pick && roll < 0.1) {
      yield {
        subject: s.claim(pick.topic, pick.claimId),
        msgId,
        payload: env('ClaimCited', { claimId: pick.claimId, reportId, via: [{ id: 'wire-relay', role: 'relay' }] }),
      };
    } else {
      const topic = `topic-${Math.floor(r() * topics)}`;
      const sourceId = `source-${Math.floor(r() * sources)}`;
      const metric = METRICS[Math.floor(r() * METRICS.length)]!;
      const month = 1 + Math.floor(r() * 12);
      const statedAt = `${2020 + Math.floor(r() * 6)}-${String(month).padStart(2, '0')}`;
      const v = Math.floor(r() * 100_000);
      const value =
        roll < 0.4
          ? { kind: 'approx', value: v }
          : roll < 0.7
            ? { kind: 'exact', value: v }
            : { kind: 'range', low: v, high: v + 500 };
      const claimId = claimIdOf({ topic, metric, sourceId, statedAt, value: value as never });
      recent.push({ claimId, topic });
      if (recent.length > 500) recent.shift();
      yield {
        subject: s.claim(topic, claimId),
        msgId,
        payload: env('ClaimRecorded', {
          claimId,
          reportId,
          topic,
          metric,
          value,
          unit: 'persons',
          sourceId,
          via: [],
          statedAt,
          validFrom: statedAt,
          validTo: statedAt,
          quote: `the figure stated by ${sourceId} about ${topic} was about ${v} ${metric}`,
        }),
      };
    }
    made += 1;
  }
}

/** Publishes a workload with up to `window` acks in flight; returns the last seq. */
export async function publishWorkload(
  nc: NatsConnection,
  messages: Iterable<WorkloadMessage>,
  window = 256,
): Promise<number> {
  const js = jetstream(nc);
  const inflight = new Set<Promise<void>>();
  let last = 0;
  for (const m of messages) {
    const p: Promise<void> = js.publish(m.subject, m.payload, { msgID: m.msgId }).then((ack) => {
      last = Math.max(last, ack.seq);
      inflight.delete(p);
    });
    inflight.add(p);
    if (inflight.size >= window) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  return last;
}
