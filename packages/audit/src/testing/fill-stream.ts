import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { canonicalJson, createSubjects, type ClaimtrailEvent } from '@claimtrail/shared/events';
import { sha256Hex, uuidv7 } from '@claimtrail/shared/identity';

/**
 * Publishes `count` valid events of a realistic mix (reports, sources, claims of every value
 * kind, echoes, corrections, retractions) straight into a stream, pipelined, for tests and the
 * bench. Deterministic for a given `seed`.
 */
export async function fillStream(
  nc: NatsConnection,
  o: { stream: string; subjectPrefix: string; count: number; seed?: string; startMs?: number; window?: number },
): Promise<{ lastSeq: number; claimIds: string[]; correctedClaimId: string | undefined }> {
  const js = jetstream(nc, { timeout: 30_000 });
  const s = createSubjects(o.subjectPrefix);
  const seed = o.seed ?? 'fill';
  const start = o.startMs ?? Date.parse('2025-01-01T00:00:00Z');
  const hex = (label: string) => sha256Hex(`${seed}\n${label}`).slice(0, 24);
  const inFlight = new Set<Promise<unknown>>();
  let lastSeq = 0;
  let n = 0;
  let failure: Error | undefined;
  const claimIds: string[] = [];
  let correctedClaimId: string | undefined;
  const recentClaims: { claimId: string; topic: string }[] = [];
  const topics = ['dprk-troops-in-russia', 'flood-displaced', 'strike-casualties'];
  const metrics = ['killed', 'wounded', 'deployed'];

  const publish = async (subject: string, type: ClaimtrailEvent['type'], data: unknown, ms: number) => {
    if (failure) throw failure;
    const event = {
      eventId: uuidv7(ms, `${seed}\n${n}`),
      type,
      version: 1,
      recordedAt: new Date(ms).toISOString(),
      actor: 'fill',
      requestId: `req-${n}`,
      data,
    };
    n += 1;
    const p: Promise<unknown> = js
      .publish(subject, canonicalJson(event))
      .then((ack) => {
        if (ack.seq > lastSeq) lastSeq = ack.seq;
      })
      .catch((err: unknown) => {
        failure ??= err instanceof Error ? err : new Error(String(err));
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= (o.window ?? 512)) await Promise.race(inFlight);
  };

  await publish(
    s.metric('killed'),
    'MetricDefined',
    { metric: 'killed', label: 'Killed', unit: 'persons', aggregation: 'cumulative' },
    start,
  );
  let r = 0;
  while (n < o.count) {
    const ms = start + (r + 1) * 1000;
    const reportId = `rpt_${hex(`r${r}`)}`;
    const sourceId = `source-${r % 37}`;
    await publish(
      s.report(reportId),
      'ReportSubmitted',
      {
        reportId,
        url: `https://example.org/${r}`,
        publisher: `Publisher ${r % 11}`,
        publishedAt: '2025-02-20',
        claimCount: 6,
      },
      ms,
    );
    if (n < o.count)
      await publish(
        s.source(sourceId),
        'SourceRegistered',
        { sourceId, name: `Source ${r % 37} v${r % 3}`, kind: 'media' },
        ms,
      );
    for (let c = 0; c < 6 && n < o.count; c += 1) {
      const k = r * 6 + c;
      const topic = topics[k % topics.length]!;
      if (c === 5 && recentClaims.length > 0) {
        // An echo of an earlier claim in this report.
        const e = recentClaims[k % recentClaims.length]!;
        await publish(s.claim(e.topic, e.claimId), 'ClaimCited', { claimId: e.claimId, reportId, via: [] }, ms);
        continue;
      }
      const claimId = `clm_${hex(`c${k}`)}`;
      const value =
        k % 4 === 0
          ? { kind: 'approx', value: 300 + (k % 100) }
          : k % 4 === 1
            ? { kind: 'exact', value: k }
            : k % 4 === 2
              ? { kind: 'range', low: k, high: k + 50 }
              : { kind: 'at_least', value: k };
      await publish(
        s.claim(topic, claimId),
        'ClaimRecorded',
        {
          claimId,
          reportId,
          topic,
          metric: metrics[k % metrics.length]!,
          value,
          unit: 'persons',
          sourceId,
          via: [],
          statedAt: `2025-01-${String((k % 28) + 1).padStart(2, '0')}`,
          validFrom: '2024-10',
          validTo: '2025-01',
          quote: `claim ${k}`,
        },
        ms,
      );
      claimIds.push(claimId);
      if (claimIds.length > 2000) claimIds.splice(0, 1000);
      recentClaims.push({ claimId, topic });
      if (recentClaims.length > 50) recentClaims.shift();
    }
    if (r % 5 === 4 && recentClaims.length > 3 && n < o.count) {
      const e = recentClaims[recentClaims.length - 3]!;
      correctedClaimId ??= e.claimId;
      await publish(
        s.claim(e.topic, e.claimId),
        'ClaimCorrected',
        { claimId: e.claimId, changes: { value: { kind: 'approx', value: 500 } }, reason: 'transcription' },
        ms + 500,
      );
    }
    if (r % 7 === 6 && recentClaims.length > 4 && n < o.count) {
      const e = recentClaims[recentClaims.length - 4]!;
      if (e.claimId !== correctedClaimId)
        await publish(
          s.claim(e.topic, e.claimId),
          'ClaimRetracted',
          { claimId: e.claimId, reason: 'withdrawn', by: 'source' },
          ms + 600,
        );
    }
    r += 1;
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  return { lastSeq, claimIds, correctedClaimId };
}
