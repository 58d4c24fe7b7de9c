import { createEnvelope } from '@claimtrail/shared/envelope';
import type { ClaimtrailEvent, EventData } from '@claimtrail/shared/events';
import { bodyHashOf, messageIdOf } from '@claimtrail/shared/identity';
import type { EventStore, PublishOutcome } from './event-store.ts';
import type { RequestContext } from './report-submission.ts';

/**
 * Writes a definition (a topic's, a metric's) on its subject if the subject is still at
 * `lastSeq`: two different definitions racing cannot both be based on the same one. The msgID
 * names that seq and the data, so a retry over the same state is dropped by JetStream, while
 * defining A, then B, then A again stores A twice instead of taking the second A for a repeat.
 */
export async function writeDefinition<T extends 'TopicDefined' | 'MetricDefined'>(
  store: EventStore,
  ctx: Pick<RequestContext, 'actor' | 'requestId' | 'now'>,
  o: { type: T; subject: string; data: EventData<T>; lastSeq: number },
): Promise<{ outcome: PublishOutcome; event: Extract<ClaimtrailEvent, { type: T }> }> {
  const event = createEnvelope(o.type, o.data, {
    recordedAt: ctx.now().toISOString(),
    actor: ctx.actor,
    requestId: ctx.requestId,
  }) as Extract<ClaimtrailEvent, { type: T }>;
  const scope = o.type === 'TopicDefined' ? 'topic' : 'metric';
  const outcome = await store.publish({
    subject: o.subject,
    event,
    msgId: messageIdOf(scope, `${o.subject}\n${o.lastSeq}\n${bodyHashOf(o.data)}`, 0),
    expectLastSubjectSeq: o.lastSeq,
  });
  return { outcome, event };
}
