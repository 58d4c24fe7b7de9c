import { linkHolds } from '@claimtrail/shared/chain';
import { sql, type Kysely } from 'kysely';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { getActiveSchema, metaSchemaOf, type Database } from '@claimtrail/shared/db';
import { claimId as claimIdSchema } from '@claimtrail/shared/events';
import { AuditError } from './audit-error.ts';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- the ledger's payloads are read as they were stored */

export interface ClaimStoryEvent {
  seq: number;
  type: string | null;
  actor: string | null;
  recordedAt: string | null;
  reportId: string | null;
  report: { url: string; publisher: string; publishedAt: string } | null;
  changes?: unknown;
  reason?: string;
  chainHash: string;
  /** The chain hash recomputed from the previous ledger row and this payload. */
  chainOk: boolean;
  /** Whether the stream holds these very bytes at this seq. */
  stream: 'same' | 'differs' | 'missing' | 'not checked';
  event: unknown;
}

/** `claimtrail audit claim`: every event of one claim from the ledger, checked against the stream. */
export async function runClaimStory(
  deps: { db: Kysely<Database>; baseSchema: string; nc?: NatsConnection; stream?: string },
  claimId: string,
): Promise<{ ok: boolean; claimId: string; schema: string; events: ClaimStoryEvent[] }> {
  if (!claimIdSchema.safeParse(claimId).success)
    throw new AuditError(`<claimId> ${JSON.stringify(claimId)}: must be clm_ followed by 24 hex digits`, {
      usage: true,
    });
  const schema = await getActiveSchema(deps.db, metaSchemaOf(deps.baseSchema));
  if (!schema) throw new AuditError('the database is not migrated; run `claimtrail migrate` first');
  const rows = await deps.db
    .withSchema(schema)
    .selectFrom('event_ledger')
    .selectAll()
    .where('claim_id', '=', claimId)
    .orderBy('seq')
    .execute();
  if (rows.length === 0) throw new AuditError(`no events for claim ${claimId} in the ledger of ${schema}`);
  const jsm = deps.nc ? await jetstreamManager(deps.nc) : undefined;
  const events: ClaimStoryEvent[] = [];
  for (const r of rows) {
    const seq = Number(r.seq);
    const prev = await deps.db
      .withSchema(schema)
      .selectFrom('event_ledger')
      .select('chain_hash')
      .where(sql<boolean>`seq < ${seq}`)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    let event: any;
    try {
      event = JSON.parse(r.payload);
    } catch {
      event = r.payload;
    }
    const reportId: string | null = typeof event?.data?.reportId === 'string' ? event.data.reportId : null;
    const report = reportId
      ? ((await deps.db
          .withSchema(schema)
          .selectFrom('reports')
          .select(['url', 'publisher', 'published_at'])
          .where('report_id', '=', reportId)
          .executeTakeFirst()) ?? null)
      : null;
    let stream: ClaimStoryEvent['stream'] = 'not checked';
    if (jsm && deps.stream) {
      const m = await jsm.direct.getMessage(deps.stream, { seq }).catch(() => null);
      stream = m === null ? 'missing' : m.string() === r.payload ? 'same' : 'differs';
    }
    events.push({
      seq,
      type: r.type,
      actor: r.actor,
      recordedAt: r.recorded_at === null ? null : new Date(r.recorded_at).toISOString(),
      reportId,
      report: report ? { url: report.url, publisher: report.publisher, publishedAt: report.published_at } : null,
      ...(event?.data?.changes === undefined ? {} : { changes: event.data.changes }),
      ...(typeof event?.data?.reason === 'string' ? { reason: event.data.reason } : {}),
      chainHash: r.chain_hash,
      chainOk: linkHolds(prev?.chain_hash, r.payload, r.chain_hash),
      stream,
      event,
    });
  }
  return {
    ok: events.every((e) => e.chainOk && (e.stream === 'same' || e.stream === 'not checked')),
    claimId,
    schema,
    events,
  };
}
