import { startTestProjector } from './test-projector.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { migrateAll } from '@claimtrail/shared/db';
import { provisionStream } from '@claimtrail/shared/nats';
import { canonicalJson } from '@claimtrail/shared/events';
import { chainHash, GENESIS_HASH, uuidv7 } from '@claimtrail/shared/identity';
import { createLogger } from '@claimtrail/shared';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { createProjectorService } from './projector.app.ts';
import { consumerNameOf } from './consumer-loop.ts';

let env: TestEnv;
let svc: Awaited<ReturnType<typeof createProjectorService>>;
const schema = 'claimtrail_rm';

function envelope(type: string, data: object, i: number) {
  return {
    eventId: uuidv7(Date.UTC(2025, 5, 1, 0, 0, i), `p${i}`),
    type,
    version: 1,
    recordedAt: new Date(Date.UTC(2025, 5, 1, 0, 0, i)).toISOString(),
    actor: 'tester',
    requestId: `r${i}`,
    data,
  };
}
const claimData = (claimId: string) => ({
  claimId,
  reportId: 'rpt_000000000000000000000001',
  topic: 't',
  metric: 'killed',
  value: { kind: 'exact', value: 1 },
  unit: 'persons',
  sourceId: 's',
  via: [],
  statedAt: '2025-01',
  validFrom: '2025-01',
  validTo: '2025-01',
});

async function publish(subject: string, body: object | string, msgID: string) {
  const ack = await jetstream(env.nc).publish(
    `${env.subjectPrefix}.${subject}`,
    typeof body === 'string' ? body : canonicalJson(body),
    { msgID },
  );
  return ack.seq;
}
async function lastApplied(): Promise<number> {
  const r = await sql<{ last_seq: number }>`select last_seq from ${sql.table(`${schema}.checkpoint`)}`.execute(env.db);
  return Number(r.rows[0]?.last_seq ?? 0);
}
async function waitFor(seq: number) {
  const t0 = Date.now();
  while ((await lastApplied()) < seq) {
    if (Date.now() - t0 > 10_000) throw new Error(`projection did not reach ${seq}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Publishes a ClaimRecorded of `claimId` and waits until the projection applied it; its seq. */
async function recordAndWait(claimId: string, i: number, msgID: string): Promise<number> {
  const seq = await publish(`claim.t.${claimId}`, envelope('ClaimRecorded', claimData(claimId), i), msgID);
  await waitFor(seq);
  return seq;
}

/** A projector service on this file's stream and schema, started. */
function startProjector() {
  return startTestProjector(env, { schema, rule: 'approx-5pct@1' });
}

beforeAll(async () => {
  env = await createTestEnv('projector');
  svc = await startProjector();
});
afterAll(async () => {
  await svc?.projector.stop();
  await env?.cleanup();
});

describe('the live projector', () => {
  it('writes every event verbatim into the ledger with a chain hash that recomputes, and moves the checkpoint', async () => {
    const e1 = envelope('ClaimRecorded', claimData('clm_00000000000000000000000a'), 1);
    const s1 = await publish('claim.t.clm_00000000000000000000000a', e1, 'm1');
    await waitFor(s1);
    const rows = await env.db.withSchema(schema).selectFrom('event_ledger').selectAll().orderBy('seq').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.payload).toBe(canonicalJson(e1));
    expect(rows[0]!.chain_hash).toBe(chainHash(GENESIS_HASH, canonicalJson(e1)));
    const cp = await env.db.withSchema(schema).selectFrom('checkpoint').selectAll().executeTakeFirstOrThrow();
    expect(Number(cp.last_seq)).toBe(s1);
    expect(cp.chain_hash).toBe(rows[0]!.chain_hash);
  });

  it('drops a repeat that JetStream let through (outside its duplicate window) by its eventId', async () => {
    const e = envelope('ClaimRecorded', claimData('clm_00000000000000000000000b'), 2);
    const a = await publish('claim.t.clm_00000000000000000000000b', e, 'first-id');
    const b = await publish('claim.t.clm_00000000000000000000000b', e, 'another-id-as-after-the-window');
    expect(b).toBe(a + 1);
    await waitFor(b);
    const repeats = await env.db.withSchema(schema).selectFrom('event_repeats').selectAll().execute();
    expect(repeats.map((r) => [Number(r.seq), Number(r.first_seq)])).toEqual([[b, a]]);
    const versions = await env.db
      .withSchema(schema)
      .selectFrom('claim_versions')
      .select('claim_id')
      .where('claim_id', '=', 'clm_00000000000000000000000b')
      .execute();
    expect(versions).toHaveLength(1);
  });

  it('parks what cannot be applied, parks later events of that claim behind it, and lets the rest flow', async () => {
    const orphan = 'clm_00000000000000000000000c';
    const s1 = await publish(
      `claim.t.${orphan}`,
      envelope('ClaimCorrected', { claimId: orphan, changes: { quote: 'x' }, reason: 'r' }, 3),
      'o1',
    );
    const s2 = await publish(`claim.t.${orphan}`, envelope('ClaimRecorded', claimData(orphan), 4), 'o2');
    const s3 = await publish(
      'claim.t.clm_00000000000000000000000d',
      envelope('ClaimRecorded', claimData('clm_00000000000000000000000d'), 5),
      'o3',
    );
    const s4 = await publish('claim.t.garbage', 'this is not json', 'o4');
    await waitFor(s4);
    const dl = await env.db
      .withSchema(schema)
      .selectFrom('dead_letters')
      .select(['seq', 'claim_id', 'reason'])
      .orderBy('seq')
      .execute();
    expect(dl.map((d) => [Number(d.seq), d.claim_id])).toEqual([
      [s1, orphan],
      [s2, orphan],
      [s4, null],
    ]);
    expect(dl[1]!.reason).toContain(`seq ${s1}`);
    const flowing = await env.db
      .withSchema(schema)
      .selectFrom('claim_versions')
      .select('claim_id')
      .where('claim_id', '=', 'clm_00000000000000000000000d')
      .execute();
    expect(flowing).toHaveLength(1);
    expect(s3).toBeLessThan(s4);
    const ledger = await env.db
      .withSchema(schema)
      .selectFrom('event_ledger')
      .select('seq')
      .where('seq', '>=', String(s1))
      .execute();
    expect(ledger).toHaveLength(4);
    const metrics = await svc.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/projector_events_parked_total 3/);
  });

  it('is ready when NATS and Postgres answer', async () => {
    expect((await svc.app.inject({ url: '/readyz' })).statusCode).toBe(200);
  });

  it('rebuilds a durable consumer left at its checkpoint with a smaller ack window', async () => {
    await svc.projector.stop();
    const jsm = await jetstreamManager(env.nc);
    const durable = consumerNameOf(schema);
    // As an older version left it: at the checkpoint, with a smaller ack window.
    await jsm.consumers.update(env.stream, durable, { max_ack_pending: 1000 });
    const before = await jsm.consumers.info(env.stream, durable);
    expect(before.config.max_ack_pending).toBe(1000);
    expect(before.ack_floor.stream_seq).toBe(await lastApplied());
    svc = await startProjector();
    const s = await recordAndWait('clm_00000000000000000000000e', 6, 'after-rebuild');
    const info = await jsm.consumers.info(env.stream, durable);
    expect(info.config.max_ack_pending).toBe(5000);
    // The ack goes out after the commit: the server may count it a moment after the claim shows.
    await expect.poll(async () => (await jsm.consumers.info(env.stream, durable)).ack_floor.stream_seq).toBe(s);
    // The stream holds only the events, so the consumer has no filter (eventFilterOf).
    expect(info.config.filter_subject ?? '').toBe('');
  });

  it('rebuilds a consumer an older version left with a filter subject, which nats-server 2.9 is slow to serve', async () => {
    await svc.projector.stop();
    const jsm = await jetstreamManager(env.nc);
    const durable = consumerNameOf(schema);
    const at = await lastApplied();
    await jsm.consumers.delete(env.stream, durable);
    await jsm.consumers.add(env.stream, {
      durable_name: durable,
      ack_policy: AckPolicy.All,
      filter_subject: `${env.subjectPrefix}.>`,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: at + 1,
      max_ack_pending: 5000,
      ack_wait: 60_000_000_000,
    });
    svc = await startProjector();
    const s = await recordAndWait('clm_00000000000000000000000f', 7, 'after-filter-rebuild');
    const info = await jsm.consumers.info(env.stream, durable);
    expect(info.config.filter_subject ?? '').toBe('');
    await expect.poll(async () => (await jsm.consumers.info(env.stream, durable)).ack_floor.stream_seq).toBe(s);
  });

  it('carries on when its durable consumer is deleted under it', async () => {
    const jsm = await jetstreamManager(env.nc);
    await jsm.consumers.delete(env.stream, consumerNameOf(schema));
    await new Promise((r) => setTimeout(r, 500));
    const seq = await publish(
      'claim.t.clm_000000000000000000000011',
      envelope('ClaimRecorded', claimData('clm_000000000000000000000011'), 9),
      'after-consumer-deleted',
    );
    const t0 = Date.now();
    while ((await lastApplied()) < seq) {
      if (Date.now() - t0 > 30_000) throw new Error('the projector did not fold after its consumer was deleted');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('started before its stream exists, keeps trying and folds once the stream is there', async () => {
    await migrateAll(env.db, 'late');
    const stream = `${env.stream}_LATE`;
    const prefix = `${env.subjectPrefix}late`;
    const late = await createProjectorService({
      nc: env.nc,
      db: env.db,
      logger: createLogger('test', 'silent'),
      settings: {
        stream,
        subjectPrefix: prefix,
        schema: 'late_rm',
        batchSize: 100,
        rule: 'approx-5pct@1',
        databaseUrl: env.databaseUrl,
      },
    });
    late.projector.start();
    try {
      let failed: unknown;
      void late.projector.finished?.catch((err: unknown) => (failed = err));
      await new Promise((r) => setTimeout(r, 1500));
      expect(failed).toBeUndefined();
      const jsm = await jetstreamManager(env.nc);
      await provisionStream(env.nc, { stream, subjectPrefix: prefix, duplicateWindowS: 120 });
      const ack = await jetstream(env.nc).publish(
        `${prefix}.claim.t.clm_000000000000000000000010`,
        canonicalJson(envelope('ClaimRecorded', claimData('clm_000000000000000000000010'), 8)),
        { msgID: 'late-1' },
      );
      const t0 = Date.now();
      const applied = async () =>
        Number(
          (await sql<{ last_seq: number }>`select last_seq from late_rm.checkpoint`.execute(env.db)).rows[0]
            ?.last_seq ?? 0,
        );
      while ((await applied()) < ack.seq) {
        if (Date.now() - t0 > 20_000) throw new Error('the late projector did not fold the event');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(failed).toBeUndefined();
      await late.projector.stop();
      await jsm.streams.delete(stream);
    } finally {
      await late.projector.stop();
      await late.app.close();
    }
  });
});
