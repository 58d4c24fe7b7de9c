import { canonicalTextOf, decodeEvent, type DecodeResult } from '@claimtrail/shared/events';
import type { StreamMessage } from './stream-message.ts';

/**
 * What the fold needs of one payload before it can fold it: the payload decoded (parsed,
 * upcast, validated), its canonical text for the chain hash, and the ids it names even when it
 * does not decode (so that the store can load their state and later events of a parked claim can
 * wait). It depends on the payload alone.
 */
export interface Prepared {
  decoded: DecodeResult;
  /** The canonical text of the payload; null when that is the payload itself. */
  canonical: string | null;
  /** Fields read from the raw payload, whatever its validity. */
  loose: {
    eventId?: string;
    type?: string;
    claimId?: string;
    sourceId?: string;
    metric?: string;
    reportId?: string;
  };
}

/**
 * A string field of an event that may not decode, kept only when Postgres can take it as a key
 * (the state read sends the ids of a batch as arrays: a NUL, which Postgres text cannot hold,
 * would fail that read for ever).
 */
const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length <= 256 && !v.includes('\u0000') ? v : undefined;

export function preparePayload(payload: string): Prepared {
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch (err) {
    return {
      decoded: { ok: false, reason: `payload is not JSON: ${(err as Error).message}` },
      canonical: null,
      loose: {},
    };
  }
  const canonical = canonicalTextOf(payload, raw);
  const r = raw as { eventId?: unknown; type?: unknown; data?: Record<string, unknown> | null } | null;
  const d = r?.data;
  const loose: Prepared['loose'] = {};
  const set = (k: keyof Prepared['loose'], v: unknown) => {
    const s = str(v);
    if (s !== undefined) loose[k] = s;
  };
  set('eventId', r?.eventId);
  set('type', r?.type);
  if (d && typeof d === 'object') {
    set('claimId', d.claimId);
    set('sourceId', d.sourceId);
    set('metric', d.metric);
    set('reportId', d.reportId);
  }
  return { decoded: decodeEvent(raw), canonical: canonical === payload ? null : canonical, loose };
}

const PREPARED = Symbol('prepared');

/**
 * A message's payload prepared once (decoded, canonical text, loose ids), kept on the message
 * itself: the store reads the ids a batch touches before the fold runs, and both need it. (A
 * WeakMap from message to prepared payload did the same, but its entries cost the collector
 * far more than a property does.)
 */
export function preparedOf(m: StreamMessage): Prepared {
  const slot = m as StreamMessage & { [PREPARED]?: Prepared };
  return (slot[PREPARED] ??= preparePayload(m.payload));
}

/**
 * Drops a message's prepared payload once the fold has it: what the fold keeps of it is in its
 * rows, and the parsed and decoded trees would otherwise live, and be copied by every young
 * collection, until the batch is committed. A refold prepares it again.
 */
export function forgetPrepared(m: StreamMessage): void {
  (m as StreamMessage & { [PREPARED]?: Prepared })[PREPARED] = undefined;
}

/**
 * Prepares the payloads of messages[from, to) now, so that idsOfBatch and the fold find them
 * prepared (the pipeline does a batch a slice at a time, between turns of the event loop).
 */
export function prepareMessages(messages: readonly StreamMessage[], from: number, to: number): void {
  for (let i = from; i < to; i += 1) preparedOf(messages[i]!);
}
