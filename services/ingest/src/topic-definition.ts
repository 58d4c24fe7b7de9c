import { createEnvelope } from '@claimtrail/shared/envelope';
import { canonicalJson, type EventData } from '@claimtrail/shared/events';
import type { PostTopicRequest } from '@claimtrail/shared/contract';
import { bodyHashOf, messageIdOf } from '@claimtrail/shared/identity';
import { UnavailableError } from '@claimtrail/shared/errors';
import type { EventStore } from './event-store.ts';
import type { RequestContext } from './report-submission.ts';

/**
 * `POST /v1/topics`: publishes TopicDefined on the topic's subject unless the definition in force
 * (the last TopicDefined there) already says the same, which answers `duplicate` with its seq. The
 * write expects the subject's last seq, so two different definitions racing cannot both be based
 * on the same one; its msgID names that seq too, so defining A, then B, then A again stores A
 * twice instead of JetStream taking the second A for a repeat of the first.
 */
export async function defineTopic(
  store: EventStore,
  body: PostTopicRequest,
  ctx: Pick<RequestContext, 'actor' | 'requestId' | 'now'>,
): Promise<{ seq: number; duplicate: boolean }> {
  const subject = store.subjects.topic(body.topic);
  // Keys in canonical (sorted) order.
  const data: EventData<'TopicDefined'> = {
    ...(body.description === undefined ? {} : { description: body.description }),
    label: body.label,
    topic: body.topic,
  };
  const wanted = canonicalJson(data);
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const { lastSeq, found } = await store.lastOfType(subject, 'TopicDefined');
    if (found && canonicalJson(found.event.data) === wanted) return { seq: found.seq, duplicate: true };
    const event = createEnvelope('TopicDefined', data, {
      recordedAt: ctx.now().toISOString(),
      actor: ctx.actor,
      requestId: ctx.requestId,
    });
    const out = await store.publish({
      subject,
      event,
      msgId: messageIdOf('topic', `${subject}\n${lastSeq}\n${bodyHashOf(data)}`, 0),
      expectLastSubjectSeq: lastSeq,
    });
    if (out.ok) return { seq: out.seq, duplicate: out.duplicate };
  }
  throw new UnavailableError(`topic ${body.topic} is being defined by others; retry`, 1);
}
