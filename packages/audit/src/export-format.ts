import type { NatsConnection } from '@nats-io/transport-node';
import { canonicalJson } from '@claimtrail/shared/events';

export const EXPORT_FORMAT = 'claimtrail-export@1';

/** One line of an export: the stream message. `payload` is given only when it is not the canonical JSON of `event`. */
export interface ExportLine {
  seq: number;
  subject: string;
  event: unknown;
  payload?: string;
}

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  stream: string;
  subjectPrefix: string;
  /** Set when only one topic's claim events were exported. */
  topic: string | null;
  fromSeq: number;
  count: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** `sha256(prev ‖ canonical event)` over the exported events from the genesis hash. */
  chainHash: string;
  /** True when the file holds every message of the stream from seq 1 (an import needs that). */
  complete: boolean;
  exportedAt: string;
}

/** What export and import need of NATS: the connection and the stream. */
export interface StreamDeps {
  nc: NatsConnection;
  stream: string;
  subjectPrefix: string;
}

/** An export line of a stream message: `payload` only when it is not the canonical JSON of `event`. */
export function lineOf(m: { seq: number; subject: string; payload: string }): string {
  let event: unknown;
  try {
    event = JSON.parse(m.payload);
  } catch {
    return JSON.stringify({ seq: m.seq, subject: m.subject, event: null, payload: m.payload });
  }
  const exact = canonicalJson(event) === m.payload;
  return JSON.stringify(
    exact ? { seq: m.seq, subject: m.subject, event } : { seq: m.seq, subject: m.subject, event, payload: m.payload },
  );
}

/** The bytes the stream held: the raw payload when kept, else the canonical JSON of the event. */
export function payloadOf(l: ExportLine): string {
  return l.payload ?? canonicalJson(l.event);
}
