import { preparedOf } from './prepare.ts';
import type { StreamMessage } from './stream-message.ts';

/** The ids a batch touches (idsOfBatch). */
export type BatchIds = ReturnType<typeof idsOfBatch>;

/** Ids a batch touches, so the store can load just their current state. */
export function idsOfBatch(messages: readonly StreamMessage[]) {
  const claimIds = new Set<string>();
  const sourceIds = new Set<string>();
  const metricNames = new Set<string>();
  const eventIds = new Set<string>();
  const reportIds = new Set<string>();
  for (const m of messages) {
    const { loose } = preparedOf(m);
    if (loose.eventId !== undefined) eventIds.add(loose.eventId);
    if (loose.claimId !== undefined) claimIds.add(loose.claimId);
    if (loose.type === 'SourceRegistered' && loose.sourceId !== undefined) sourceIds.add(loose.sourceId);
    if (loose.type === 'MetricDefined' && loose.metric !== undefined) metricNames.add(loose.metric);
    if (loose.type === 'ReportSubmitted' && loose.reportId !== undefined) reportIds.add(loose.reportId);
  }
  return { claimIds, sourceIds, metricNames, eventIds, reportIds };
}
