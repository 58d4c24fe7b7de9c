import { createEnvelope } from '@claimtrail/shared/envelope';
import { mustParseFuzzyDate, type ClaimChanges, type ClaimtrailEvent, type EventData } from '@claimtrail/shared/events';
import { bodyHashOf, claimIdOf, correctedIdentity, identityFieldsOf, messageIdOf } from '@claimtrail/shared/identity';
import type { IdentityIndex } from '@claimtrail/shared/nats';
import type { ClaimValue } from '@claimtrail/shared/events';
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from '@claimtrail/shared/errors';
import type { EventStore } from './event-store.ts';
import type { RequestContext } from './report-submission.ts';
import { requestKeyOf } from './idempotency-key.ts';
import { canonicalHop, createSourceRegistrations } from './source-registrations.ts';
import type { MetricCatalog } from './metric-catalog.ts';

interface ClaimState {
  subject: string;
  lastSeq: number;
  retracted: boolean;
  topic: string;
  metric: string;
  unit: string;
  sourceId: string;
  statedAt: string;
  validFrom: string;
  validTo: string;
  value: ClaimValue;
  /** The natural id of each identity the claim had (as recorded, then after each correction). */
  naturals: string[];
}

const naturalIdOf = (c: ClaimState) => claimIdOf(c);

/** The claim after a correction. */
function corrected(state: ClaimState, c: ClaimChanges): ClaimState {
  const next = { ...correctedIdentity(state, c), unit: c.unit ?? state.unit };
  return { ...next, naturals: [...state.naturals, naturalIdOf(next)] };
}

/**
 * Folds a claim's own events into what ingest must know to accept a change. Messages that are not
 * readable events are skipped (the event store logs them) but still count for the subject's last
 * seq, which the next write expects; so do messages on the claim's id under another topic, which
 * are not the claim's.
 */
async function loadClaim(store: EventStore, claimId: string): Promise<ClaimState> {
  const events = await store.claimEvents(claimId);
  let state: ClaimState | undefined;
  for (const { seq, subject, event } of events) {
    if (state) {
      if (subject !== state.subject) continue;
      state.lastSeq = seq;
      if (event?.type === 'ClaimRetracted') state.retracted = true;
      if (event?.type === 'ClaimCorrected') state = corrected(state, event.data.changes);
    } else if (event?.type === 'ClaimRecorded' && subject === store.subjects.claim(event.data.topic, claimId)) {
      const d = event.data;
      state = {
        subject,
        lastSeq: seq,
        retracted: false,
        ...identityFieldsOf(d),
        unit: d.unit,
        naturals: [],
      };
      state.naturals.push(naturalIdOf(state));
    }
  }
  if (!state) throw new NotFoundError(`no claim ${claimId}`);
  return state;
}

/**
 * Appends a change to a claim with `expect.lastSubjectSequence`, so two concurrent editors
 * cannot both act on the same state; a lost race re-reads the claim and tries again.
 */
async function appendToClaim(
  store: EventStore,
  claimId: string,
  ctx: RequestContext,
  scope: string,
  body: unknown,
  build: (state: ClaimState) => (ClaimtrailEvent['data'] & object) | Promise<ClaimtrailEvent['data'] & object>,
  type: 'ClaimCorrected' | 'ClaimRetracted',
): Promise<{ claimId: string; seq: number; duplicate: boolean; state: ClaimState }> {
  const key = requestKeyOf(ctx, () => bodyHashOf(body));
  const msgId = messageIdOf(scope, `${claimId}\n${key}`, 0);
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const state = await loadClaim(store, claimId);
    const data = await build(state);
    const event = createEnvelope(type, data as EventData<typeof type>, {
      recordedAt: ctx.now().toISOString(),
      actor: ctx.actor,
      requestId: ctx.requestId,
    });
    const out = await store.publish({ subject: state.subject, event, msgId, expectLastSubjectSeq: state.lastSeq });
    if (out.ok) return { claimId, seq: out.seq, duplicate: out.duplicate, state };
  }
  throw new UnavailableError('the claim is being changed by others; retry', 1);
}

/**
 * A correction of the metric or the unit must leave the claim in its metric's unit, once that
 * metric is defined (a correction to a metric nobody defined does not define it).
 */
async function checkCorrectedUnit(catalog: MetricCatalog, state: ClaimState, changes: ClaimChanges): Promise<void> {
  const metric = changes.metric ?? state.metric;
  const unit = changes.unit ?? state.unit;
  const defined = (await catalog.inForce([metric])).get(metric)?.event.data;
  if (!defined || defined.unit === unit) return;
  const path = changes.unit !== undefined ? '/changes/unit' : '/changes/metric';
  const message = `metric ${metric} is counted in ${defined.unit}, not ${unit}`;
  throw new ValidationError(`the request body is invalid: ${path} ${message}`, [{ path, message }]);
}

/**
 * `POST /v1/claims/{claimId}/corrections`. A correction that describes a source (its `source`
 * with a name, kind or country, or hops of `via` with names) registers it too, once the
 * correction is stored: a refused correction registers nothing, and a retry after a failed
 * registration finds its correction already stored (the same msgID) and registers again.
 */
export async function correctClaim(
  store: EventStore,
  catalog: MetricCatalog,
  identities: IdentityIndex,
  claimId: string,
  body: { changes: ClaimChanges; reason: string },
  ctx: RequestContext,
) {
  const changes: ClaimChanges =
    body.changes.via === undefined ? body.changes : { ...body.changes, via: body.changes.via.map(canonicalHop) };
  const out = await appendToClaim(
    store,
    claimId,
    ctx,
    'correction',
    body,
    async (state): Promise<EventData<'ClaimCorrected'>> => {
      if (state.retracted) throw new ConflictError(`claim ${claimId} is retracted; it cannot be corrected`);
      const from = mustParseFuzzyDate(body.changes.validFrom ?? state.validFrom);
      const to = mustParseFuzzyDate(body.changes.validTo ?? state.validTo);
      if (from.from > to.to) {
        throw new ValidationError('validFrom must not be after validTo', [
          { path: '/changes/validFrom', message: 'validFrom must not be after validTo' },
        ]);
      }
      if (body.changes.metric !== undefined || body.changes.unit !== undefined)
        await checkCorrectedUnit(catalog, state, body.changes);
      return { claimId, changes, reason: body.reason };
    },
    'ClaimCorrected',
  );
  // The identity index learns the claim's identity now. The correction is stored first: a failure
  // here answers 503, and the client's retry (the same key finds the correction stored) settles
  // it again. The state read may already hold this correction (a retry): applying it again
  // changes nothing.
  const after = corrected(out.state, changes);
  const current = after.naturals.at(-1)!;
  if (after.naturals.some((n) => n !== claimId)) {
    try {
      await identities.settle(claimId, current, after.naturals);
    } catch (err) {
      throw new UnavailableError('the correction is stored; the identity index could not be updated: retry', 1, err);
    }
  }
  const registrations = createSourceRegistrations();
  if (changes.source) registrations.source(changes.source);
  registrations.via(changes.via);
  const key = requestKeyOf(ctx, () => bodyHashOf(body));
  await Promise.all(
    registrations.list().map(async (data, j) => {
      const event = createEnvelope('SourceRegistered', data, {
        recordedAt: ctx.now().toISOString(),
        actor: ctx.actor,
        requestId: ctx.requestId,
      });
      const o = await store.publish({
        subject: store.subjects.source(data.sourceId),
        event,
        msgId: messageIdOf('correction-source', `${claimId}\n${key}`, j),
      });
      if (!o.ok) throw new Error('unexpected expectation failure');
    }),
  );
  return { claimId: out.claimId, seq: out.seq, duplicate: out.duplicate };
}

export async function retractClaim(
  store: EventStore,
  claimId: string,
  body: { reason: string; by: 'source' | 'publisher' | 'editor' },
  ctx: RequestContext,
) {
  const out = await appendToClaim(
    store,
    claimId,
    ctx,
    'retraction',
    body,
    (state): EventData<'ClaimRetracted'> => {
      if (state.retracted) throw new ConflictError(`claim ${claimId} is already retracted`);
      return { claimId, reason: body.reason, by: body.by };
    },
    'ClaimRetracted',
  );
  return { claimId: out.claimId, seq: out.seq, duplicate: out.duplicate };
}
