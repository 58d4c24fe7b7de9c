// Deterministic claim events for the benchmarks: about 90 % new claims, 5 % corrections and
// 5 % echoes (citations of an existing claim by another source), across 50 topics and 200
// sources, each serialized as a ≈600-byte JSON envelope like the product's.
import { seededRandom } from '@claimtrail/shared/testing';

export type ClaimEventType = 'ClaimRecorded' | 'ClaimCorrected' | 'ClaimCited';

export type ClaimData = {
  claimId: string;
  reportId: string;
  topic: string;
  metric: string;
  sourceId: string;
  /** For a citation: the source that first stated the claim. */
  citedSourceId?: string;
  value: { amount: number; low: number; high: number; unit: string };
  statedAt: string;
  quote: string;
  url: string;
  location: string;
};

export interface ClaimEvent {
  eventId: string;
  type: ClaimEventType;
  version: 1;
  recordedAt: string;
  actor: string;
  requestId: string;
  data: ClaimData;
}

export interface GeneratedEvent {
  event: ClaimEvent;
  /** `ct.claim.<topic>.<claimId>` relative subject (prefix it with a stream's prefix). */
  subject: string;
  /** The serialized envelope. */
  json: string;
}

const METRICS = ['killed', 'wounded', 'displaced', 'troops', 'detained', 'missing'];
const WORDS =
  'officials said the figure was provisional and could rise as teams reached the affected districts where access remained limited by fighting and damaged roads'.split(
    ' ',
  );

function hex(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

/** A UUIDv7-shaped id whose time part follows `ms`. */
function uuid7(r: () => number, ms: number): string {
  const t = ms.toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${hex(r, 3)}-${'89ab'[Math.floor(r() * 4)]}${hex(r, 3)}-${hex(r, 12)}`;
}

export interface GenerateOptions {
  seed?: number;
  topics?: number;
  sources?: number;
  /** Prefix of claim ids, so several runs in one database do not collide. */
  idPrefix?: string;
  /** Start of `recordedAt`; events are 10 ms apart. */
  startMs?: number;
}

/** Generates `count` claim events. The first event is always a new claim. */
export function generateClaimEvents(count: number, opts: GenerateOptions = {}): GeneratedEvent[] {
  // mulberry32, the tests' workload generator: every run uses the same data.
  const r = seededRandom(opts.seed ?? 42);
  const topics = opts.topics ?? 50;
  const sources = opts.sources ?? 200;
  const idPrefix = opts.idPrefix ?? 'c';
  const start = opts.startMs ?? Date.UTC(2025, 0, 1);
  const claims: ClaimData[] = [];
  const out: GeneratedEvent[] = [];
  for (let i = 0; i < count; i++) {
    const now = start + i * 10;
    const roll = r();
    let type: ClaimEventType;
    let data: ClaimData;
    const reportId = `r-${idPrefix}-${Math.floor(i / 10)}`;
    if (claims.length === 0 || roll < 0.9) {
      const amount = Math.floor(r() * 100_000);
      const words = Array.from({ length: 14 }, () => WORDS[Math.floor(r() * WORDS.length)]!).join(' ');
      data = {
        claimId: `${idPrefix}-${i.toString(36)}-${hex(r, 6)}`,
        reportId,
        topic: `topic-${Math.floor(r() * topics)}`,
        metric: METRICS[Math.floor(r() * METRICS.length)]!,
        sourceId: `source-${Math.floor(r() * sources)}`,
        value: { amount, low: Math.floor(amount * 0.9), high: Math.ceil(amount * 1.1), unit: 'people' },
        statedAt: new Date(now - Math.floor(r() * 86_400_000)).toISOString(),
        quote: `"${words}"`,
        url: `https://news.example.org/${hex(r, 8)}/${hex(r, 16)}`,
        location: `region-${Math.floor(r() * 40)}`,
      };
      type = 'ClaimRecorded';
      claims.push(data);
    } else {
      const prior = claims[Math.floor(r() * claims.length)]!;
      if (roll < 0.95) {
        const amount = Math.floor(prior.value.amount * (1 + r() * 0.2));
        data = {
          ...prior,
          reportId,
          value: { ...prior.value, amount, low: Math.floor(amount * 0.9), high: Math.ceil(amount * 1.1) },
          statedAt: new Date(now).toISOString(),
        };
        type = 'ClaimCorrected';
      } else {
        data = {
          ...prior,
          reportId,
          citedSourceId: prior.sourceId,
          sourceId: `source-${Math.floor(r() * sources)}`,
          statedAt: new Date(now).toISOString(),
        };
        type = 'ClaimCited';
      }
    }
    const event: ClaimEvent = {
      eventId: uuid7(r, now),
      type,
      version: 1,
      recordedAt: new Date(now).toISOString(),
      actor: `reporter-${Math.floor(r() * 20)}`,
      requestId: hex(r, 16),
      data,
    };
    out.push({ event, subject: `claim.${data.topic}.${data.claimId}`, json: JSON.stringify(event) });
  }
  return out;
}

/** Columns of the claim-like row the raw Postgres figures write. */
export const CLAIM_ROW_COLUMNS = [
  'event_id',
  'claim_id',
  'topic',
  'metric',
  'source_id',
  'amount',
  'low',
  'high',
  'stated_at',
  'recorded_at',
  'seq',
  'payload',
] as const;

export const CLAIM_ROW_DDL = `
  event_id text NOT NULL,
  claim_id text NOT NULL,
  topic text NOT NULL,
  metric text NOT NULL,
  source_id text NOT NULL,
  amount numeric NOT NULL,
  low numeric,
  high numeric,
  stated_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL,
  seq bigint NOT NULL,
  payload jsonb NOT NULL`;

export type ClaimRow = [string, string, string, string, string, number, number, number, string, string, number, string];

export function claimRow(e: ClaimEvent, seq: number, dataJson?: string): ClaimRow {
  const d = e.data;
  return [
    e.eventId,
    d.claimId,
    d.topic,
    d.metric,
    d.sourceId,
    d.value.amount,
    d.value.low,
    d.value.high,
    d.statedAt,
    e.recordedAt,
    seq,
    dataJson ?? JSON.stringify(d),
  ];
}
