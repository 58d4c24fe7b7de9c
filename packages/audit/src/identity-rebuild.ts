import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { createSubjects, decodeEvent, type ClaimChanges, type ClaimtrailEvent } from '@claimtrail/shared/events';
import { claimIdOf, correctedIdentity, identityFieldsOf, type ClaimIdentityFields } from '@claimtrail/shared/identity';
import { openIdentityIndex, type IdentityEntries } from '@claimtrail/shared/nats';
import { readStream, streamBounds } from './stream-reader.ts';
import { createProgress, type ProgressSink } from './progress.ts';

interface Followed {
  fields: ClaimIdentityFields;
  /** The natural id of each identity the claim had, in order. */
  naturals: string[];
  /** The seq of the event that gave it its identity now. */
  since: number;
}

const IDENTITY_FIELDS = ['value', 'statedAt', 'validFrom', 'validTo', 'metric', 'source'] as const;
const changesIdentity = (c: ClaimChanges) => IDENTITY_FIELDS.some((f) => c[f] !== undefined);

/**
 * Works out the identity index from a stream's claim events, in seq order: which claims have an
 * identity whose natural id is not their own (recorded before the valid period counted, recorded
 * under a later id, or corrected), and which claim holds each such identity now (the one that took
 * it last, when corrections gave two claims one identity). Only such claims are kept in memory; a
 * claim's record is read back (`recordOf`) when its first correction comes.
 */
export function createIdentityPlanner(recordOf: (claimId: string) => Promise<ClaimIdentityFields | undefined>) {
  const followed = new Map<string, Followed>();
  let claims = 0;
  return {
    async add(seq: number, claimIdOfSubject: string | undefined, e: ClaimtrailEvent): Promise<void> {
      if (e.type === 'ClaimRecorded') {
        if (e.data.claimId !== claimIdOfSubject || followed.has(e.data.claimId)) return;
        claims += 1;
        const fields = identityFieldsOf(e.data);
        const natural = claimIdOf(fields);
        if (natural !== e.data.claimId) followed.set(e.data.claimId, { fields, naturals: [natural], since: seq });
      } else if (e.type === 'ClaimCorrected' && changesIdentity(e.data.changes)) {
        const id = e.data.claimId;
        if (id !== claimIdOfSubject) return;
        let f = followed.get(id);
        if (!f) {
          const fields = await recordOf(id);
          if (!fields) return;
          f = { fields, naturals: [claimIdOf(fields)], since: seq };
          followed.set(id, f);
        }
        f.fields = correctedIdentity(f.fields, e.data.changes);
        f.naturals.push(claimIdOf(f.fields));
        f.since = seq;
      }
    },
    /** The index's entries, and how many claims were read and followed. */
    result(): IdentityEntries & { claims: number; followed: number } {
      const held = new Map<string, string>();
      const heldSince = new Map<string, number>();
      const moved = new Map<string, string>();
      for (const [id, f] of followed) {
        if (f.naturals.every((n) => n === id)) continue;
        const current = f.naturals.at(-1)!;
        if ((heldSince.get(current) ?? -1) < f.since) {
          held.set(current, id);
          heldSince.set(current, f.since);
        }
        if (current !== id) moved.set(id, current);
      }
      return { held, moved, claims, followed: followed.size };
    },
  };
}

export interface IdentityRebuildResult {
  claims: number;
  held: number;
  moved: number;
  put: number;
  deleted: number;
}

/**
 * Builds the identity index of `stream` from its claim events and makes the bucket hold exactly
 * that (what `claimtrail migrate` runs when it creates the bucket, and with `--identities`). Safe
 * while ingest runs: only keys that differ are written.
 */
export async function rebuildIdentityIndex(
  nc: NatsConnection,
  o: { stream: string; subjectPrefix: string; kv: KV; progress?: ProgressSink; quiet?: boolean },
): Promise<IdentityRebuildResult> {
  const subjects = createSubjects(o.subjectPrefix);
  const jsm = await jetstreamManager(nc);
  const recordOf = async (claimId: string) => {
    const m = await jsm.direct.getMessage(o.stream, { seq: 1, next_by_subj: subjects.claimAnyTopic(claimId) });
    if (!m) return undefined;
    const decoded = decodeEvent(JSON.parse(m.string()));
    return decoded.ok && decoded.event.type === 'ClaimRecorded' ? identityFieldsOf(decoded.event.data) : undefined;
  };
  const planner = createIdentityPlanner(recordOf);
  const bounds = await streamBounds(nc, o.stream);
  const progress = createProgress('identity index', bounds.lastSeq, {
    ...(o.progress ? { sink: o.progress } : {}),
    ...(o.quiet === undefined ? {} : { quiet: o.quiet }),
  });
  if (bounds.messages > 0) {
    for await (const batch of readStream(nc, {
      stream: o.stream,
      subjectPrefix: o.subjectPrefix,
      toSeq: bounds.lastSeq,
      batchSize: 1000,
      filterSubjects: [`${o.subjectPrefix}.claim.>`],
    })) {
      for (const m of batch) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(m.payload);
        } catch {
          continue;
        }
        const decoded = decodeEvent(parsed);
        if (decoded.ok) await planner.add(m.seq, subjects.claimIdOf(m.subject), decoded.event);
      }
      progress.update(batch.at(-1)!.seq);
    }
  }
  progress.finish();
  const plan = planner.result();
  const index = await openIdentityIndex(o.kv);
  try {
    const written = await index.reconcile(plan);
    return { claims: plan.claims, held: plan.held.size, moved: plan.moved.size, ...written };
  } finally {
    await index.close();
  }
}
