/** One stream message as the projector sees it. */
export interface StreamMessage {
  seq: number;
  subject: string;
  payload: string;
  /** The server's store time, used only when the payload has no readable recordedAt. */
  time: string;
}
