/** Subject layout of the stream, under a configurable prefix (default `ct`). */
export function createSubjects(prefix: string) {
  return {
    all: `${prefix}.>`,
    claim: (topic: string, claimId: string) => `${prefix}.claim.${topic}.${claimId}`,
    claimAnyTopic: (claimId: string) => `${prefix}.claim.*.${claimId}`,
    report: (reportId: string) => `${prefix}.report.${reportId}`,
    source: (sourceId: string) => `${prefix}.source.${sourceId}`,
    metric: (metric: string) => `${prefix}.metric.${metric}`,
    topic: (topic: string) => `${prefix}.topic.${topic}`,
    /** The claim id of a claim subject, or undefined for any other subject. */
    claimIdOf(subject: string): string | undefined {
      const parts = subject.slice(prefix.length + 1).split('.');
      return parts[0] === 'claim' && parts.length === 3 ? parts[2] : undefined;
    },
  };
}
export type Subjects = ReturnType<typeof createSubjects>;
