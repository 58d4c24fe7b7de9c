import type { Kysely } from 'kysely';
import type { Database } from '@claimtrail/shared/db';

/** An event the projector could not apply, kept in `dead_letters` with its reason. */
export interface ParkedEvent {
  seq: number;
  /** Null when the payload did not decode as an event. */
  type: string | null;
  claimId: string | null;
  eventId: string | null;
  reason: string;
  parkedAt: string;
}

/** A stream message whose event id an earlier seq already carried: kept in `event_repeats`, not applied again. */
export interface RepeatedEvent {
  seq: number;
  eventId: string;
  /** The seq of the event it repeats. */
  firstSeq: number;
}

const isoOf = (v: unknown): string => (v instanceof Date ? v : new Date(String(v))).toISOString();

/**
 * Every event a read-model schema holds as parked, in seq order. All of them, whatever range a
 * check covers: a parked event stays unapplied until something is done about it.
 */
export async function parkedEvents(db: Kysely<Database>, schema: string): Promise<ParkedEvent[]> {
  const rows = await db
    .withSchema(schema)
    .selectFrom('dead_letters')
    .select(['seq', 'type', 'claim_id', 'event_id', 'reason', 'parked_at'])
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({
    seq: Number(r.seq),
    type: r.type,
    claimId: r.claim_id,
    eventId: r.event_id,
    reason: r.reason,
    parkedAt: isoOf(r.parked_at),
  }));
}

/** Every repeat a read-model schema recorded, in seq order. */
export async function repeatedEvents(db: Kysely<Database>, schema: string): Promise<RepeatedEvent[]> {
  const rows = await db
    .withSchema(schema)
    .selectFrom('event_repeats')
    .select(['seq', 'event_id', 'first_seq'])
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({ seq: Number(r.seq), eventId: r.event_id, firstSeq: Number(r.first_seq) }));
}
