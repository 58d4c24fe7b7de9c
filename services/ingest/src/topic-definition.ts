import { canonicalJson, type EventData } from '@claimtrail/shared/events';
import type { PostTopicRequest } from '@claimtrail/shared/contract';
import { UnavailableError } from '@claimtrail/shared/errors';
import { writeDefinition } from './definition-write.ts';
import type { EventStore } from './event-store.ts';
import type { RequestContext } from './report-submission.ts';

/**
 * `POST /v1/topics`: publishes TopicDefined on the topic's subject unless the definition in force
 * (the last TopicDefined there) already says the same, which answers `duplicate` with its seq
 * (writeDefinition says how the write is guarded).
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
    const { outcome: out } = await writeDefinition(store, ctx, { type: 'TopicDefined', subject, data, lastSeq });
    if (out.ok) return { seq: out.seq, duplicate: out.duplicate };
  }
  throw new UnavailableError(`topic ${body.topic} is being defined by others; retry`, 1);
}
