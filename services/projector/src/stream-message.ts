import type { JsMsg } from '@nats-io/jetstream';

/** One stream message as the projector sees it. */
export interface StreamMessage {
  seq: number;
  subject: string;
  payload: string;
  /** The server's store time, used only when the payload has no readable recordedAt. */
  time: string;
}

/** A JetStream message as the projector sees it (also how replay and audit read the stream). */
export function toStreamMessage(m: JsMsg): StreamMessage {
  return {
    seq: m.seq,
    subject: m.subject,
    payload: m.string(),
    time: new Date(Math.floor(m.info.timestampNanos / 1_000_000)).toISOString(),
  };
}
