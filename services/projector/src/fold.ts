import { getNormalisationRule } from '@claimtrail/shared/events';
import { createChainWalker } from '@claimtrail/shared/chain';
import { createFoldContext } from './fold-context.ts';
import { claimIdOfEvent, evolve, ParkError } from './evolve.ts';
import { forgetPrepared, preparedOf } from './prepare.ts';
import type { FoldInput, FoldOutput } from './fold-rows.ts';
import type { StreamMessage } from './stream-message.ts';

/** Text Postgres can store: it cannot hold U+0000, which is written as U+FFFD. */
function storable(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}

/**
 * A message came that is not the one after the last applied, on a stream where every seq is an
 * event of ours: something between the stream and this fold dropped messages (a consumer shared
 * with another projector, say). Folding on would skip them for ever.
 */
export class SeqGapError extends Error {
  constructor(expected: number, got: number) {
    super(`expected stream seq ${expected} next, got ${got}: messages are missing`);
    this.name = 'SeqGapError';
  }
}

export interface FoldOptions {
  /** Every stream seq is an event of ours (the stream holds only our subjects): a gap is an error. */
  contiguous?: boolean;
}

/**
 * Folds a batch of stream messages into row changes. Pure: the same input always gives the same
 * output, so the live projector, a replay and a crash-restarted projector agree row for row.
 * Every message gets its ledger row and chain hash here; what a decoded event does to the read
 * models is its type's handler's (evolve.ts); what cannot be applied is parked.
 */
export function foldBatch(
  input: FoldInput,
  messages: readonly StreamMessage[],
  ruleId: string,
  o: FoldOptions = {},
): FoldOutput {
  const rule = getNormalisationRule(ruleId);
  if (!rule) throw new Error(`unknown normalisation rule ${ruleId}`);
  const c = createFoldContext(input, rule);
  const { out, claims, parked, seenEventIds: seen } = c;
  const chain = createChainWalker(input.chainHash);

  // A report's events share one recordedAt: normalise it once, not once an event.
  let recordedIn: string | undefined;
  let recordedOut = '';
  const isoOf = (s: string) =>
    s === recordedIn ? recordedOut : ((recordedIn = s), (recordedOut = new Date(s).toISOString()));

  for (const m of messages) {
    if (m.seq <= out.lastSeq) continue;
    if (o.contiguous && m.seq !== out.lastSeq + 1) throw new SeqGapError(out.lastSeq + 1, m.seq);
    const { decoded, canonical, loose } = preparedOf(m);
    forgetPrepared(m);
    const eventId = decoded.ok ? decoded.event.eventId : (loose.eventId ?? null);

    if (decoded.ok) {
      const first = seen.get(decoded.event.eventId);
      if (first !== undefined) {
        out.repeats.push({ seq: m.seq, event_id: decoded.event.eventId, first_seq: first });
        out.lastSeq = m.seq;
        continue;
      }
      seen.set(decoded.event.eventId, m.seq);
    }

    const recordedAt = decoded.ok ? isoOf(decoded.event.recordedAt) : m.time;
    // Transaction time never runs backwards, even when ingest clocks disagree.
    const knownAt = out.knownAt !== null && out.knownAt > recordedAt ? out.knownAt : recordedAt;
    out.knownAt = knownAt;
    out.lastSeq = m.seq;
    // The chain hashes the canonical text of the event, which the prepared payload holds (null:
    // the payload itself).
    out.chainHash = chain.step(m.payload, canonical ?? m.payload);
    const claimId = decoded.ok ? claimIdOfEvent(decoded.event) : loose.claimId;
    const refusal = input.refused?.get(m.seq);
    if (refusal !== undefined) {
      // Only what the ledger and the dead letters need, and nothing Postgres could refuse again.
      out.ledger.push({
        seq: m.seq,
        subject: storable(m.subject),
        // A decoded event's id and type passed its schema (a UUID, a known name).
        event_id: decoded.ok ? decoded.event.eventId : null,
        type: decoded.ok ? decoded.event.type : null,
        version: null,
        recorded_at: null,
        known_at: knownAt,
        actor: null,
        claim_id: claimId ?? null,
        topic: null,
        payload: storable(m.payload),
        chain_hash: out.chainHash,
      });
      out.deadLetters.push({
        seq: m.seq,
        subject: storable(m.subject),
        event_id: decoded.ok ? decoded.event.eventId : null,
        type: decoded.ok ? decoded.event.type : null,
        claim_id: claimId ?? null,
        reason: refusal,
        payload: storable(m.payload),
      });
      if (claimId !== undefined && !parked.has(claimId)) parked.set(claimId, m.seq);
      continue;
    }
    out.ledger.push({
      seq: m.seq,
      subject: m.subject,
      // A decoded event's id passed the schema's UUID check; a loose one's is kept only if it looks like one.
      event_id: decoded.ok ? eventId : eventId !== null && /^[0-9a-f-]{36}$/i.test(eventId) ? eventId : null,
      type: decoded.ok ? decoded.event.type : null,
      version: decoded.ok ? decoded.event.version : null,
      recorded_at: decoded.ok ? recordedAt : null,
      known_at: knownAt,
      actor: decoded.ok ? decoded.event.actor : null,
      claim_id: claimId ?? null,
      topic:
        decoded.ok && decoded.event.type === 'ClaimRecorded'
          ? decoded.event.data.topic
          : decoded.ok && claimId
            ? (claims.get(claimId)?.topic ?? null)
            : null,
      payload: m.payload,
      chain_hash: out.chainHash,
    });

    const park = (reason: string) => {
      out.deadLetters.push({
        seq: m.seq,
        subject: m.subject,
        event_id: eventId,
        type: decoded.ok ? decoded.event.type : null,
        claim_id: claimId ?? null,
        reason,
        payload: m.payload,
      });
      if (claimId !== undefined && !parked.has(claimId)) parked.set(claimId, m.seq);
    };

    if (!decoded.ok) {
      park(decoded.reason);
      continue;
    }
    if (claimId !== undefined && parked.has(claimId)) {
      park(`waiting behind the parked event at seq ${parked.get(claimId)} of claim ${claimId}`);
      continue;
    }
    try {
      evolve(c, decoded.event, { seq: m.seq, knownAt, recordedAt });
      out.applied += 1;
    } catch (err) {
      if (err instanceof ParkError) park(err.message);
      else throw err;
    }
  }
  const { sources, metrics, reports } = c;
  return { ...out, after: { claims, sources, metrics, parked, seenEventIds: seen, reports } };
}
