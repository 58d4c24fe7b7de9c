import { uuidv7 } from './identity.ts';
import { eventSchemas, type ClaimtrailEvent, type EventData, type EventType } from './events/schemas.ts';

/** Who wrote an event and when: the envelope's fields besides the type and data. */
export interface EnvelopeContext {
  /** The server's clock when the request was taken (ISO instant). */
  recordedAt: string;
  actor: string;
  requestId: string;
  /**
   * Makes the event id deterministic (a retry rebuilds the same event); random without. Its time
   * part is recordedAt.
   */
  seed?: string;
}

/**
 * The one envelope factory: an event of `type` at the current version of its schema. Keys are in
 * canonical (sorted) order, so canonicalJson writes the event with one JSON.stringify.
 */
export function createEnvelope<T extends EventType>(
  type: T,
  data: EventData<T>,
  ctx: EnvelopeContext,
): ClaimtrailEvent {
  return {
    actor: ctx.actor,
    data,
    eventId: uuidv7(Date.parse(ctx.recordedAt), ctx.seed),
    recordedAt: ctx.recordedAt,
    requestId: ctx.requestId,
    type,
    version: eventSchemas[type].version,
  } as ClaimtrailEvent;
}
