import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createLogger } from '@claimtrail/shared';
import { getActiveSchema, type Database } from '@claimtrail/shared/db';
import { uuidv7 } from '@claimtrail/shared/identity';
import { createTestEnv, publishSyntheticEvents, syntheticEvents, type TestEnv } from '@claimtrail/shared/testing';
import { createProjector } from '@claimtrail/projector';
import { createPgTokenStore, createQueryApp } from '@claimtrail/query';
import type { Kysely } from 'kysely';
import { runReplay, type ReplayDeps } from './replay.ts';
import { promoteSchema } from './promote.ts';
import { runVerify } from './verify.ts';
import { formatVerifyReport } from './verify-text.ts';
import { compareTable, READ_MODEL_TABLES } from './read-model-diff.ts';
import { runExport } from './export.ts';
import { verifyExport } from './verify-export.ts';
import { runImport } from './import.ts';
import { runAsOf } from './as-of.ts';
import { runClaimStory } from './claim-story.ts';
import { readStream } from './stream-reader.ts';

const quiet = { quiet: true };
const RULE = 'approx-5pct@1';
let env: TestEnv;
let deps: ReplayDeps;
let live: string;
let lastSeq: number;
let corrected: string | undefined;
let dir: string;

async function projectAll(e: TestEnv, schema: string, until: number) {
  const p = createProjector({
    nc: e.nc,
    db: e.db,
    logger: createLogger('test', 'silent'),
    registry: new Registry(),
    settings: {
      stream: e.stream,
      subjectPrefix: e.subjectPrefix,
      schema,
      batchSize: 200,
      rule: RULE,
      databaseUrl: e.databaseUrl,
      metaSchema: null,
    },
  });
  p.start();
  for (let i = 0; i < 600; i += 1) {
    if ((await p.store.readCheckpoint()).lastSeq >= until) break;
    await sleep(50);
  }
  await p.stop();
  expect((await p.store.readCheckpoint()).lastSeq).toBe(until);
}

beforeAll(async () => {
  env = await createTestEnv('audit');
  dir = await mkdtemp(join(tmpdir(), 'claimtrail-audit-'));
  const filled = await publishSyntheticEvents(
    env.nc,
    syntheticEvents({ count: 1200, prefix: env.subjectPrefix, seed: 'audit', actor: 'fill' }),
  );
  lastSeq = filled.lastSeq;
  corrected = filled.correctedClaimId;
  live = (await getActiveSchema(env.db, env.schema))!;
  await projectAll(env, live, lastSeq);
  deps = { db: env.db, nc: env.nc, stream: env.stream, subjectPrefix: env.subjectPrefix, baseSchema: env.schema };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await env?.cleanup();
});

const verify = (o: Partial<Parameters<typeof runVerify>[1]> = {}, d: ReplayDeps = deps) =>
  runVerify(d, { rule: RULE, batchSize: 250, progress: quiet, ...o });

/** Runs `tamper`, then verify, then `undo`; the verify report is returned. */
async function tampered(tamper: string, undo: string) {
  await sql.raw(tamper.replaceAll('$S', live)).execute(env.db);
  try {
    return await verify();
  } finally {
    await sql.raw(undo.replaceAll('$S', live)).execute(env.db);
  }
}

describe('audit verify', () => {
  it('holds on an untouched stream, ledger and read models', async () => {
    const r = await verify();
    expect(r.chain).toMatchObject({ ok: true, mismatches: 0, recomputed: lastSeq });
    expect(r.ledger).toMatchObject({
      ok: true,
      compared: lastSeq,
      missingFromLedger: 0,
      missingFromStream: 0,
      changed: 0,
    });
    expect(r.readModels.ok).toBe(true);
    expect(r.ok).toBe(true);
    expect(r.verdict).toBe('holds');
    expect(r.parked).toEqual({ ok: true, failOnParked: false, count: 0, events: [] });
    expect(r.repeats).toEqual({ count: 0, events: [] });
    expect(formatVerifyReport(r).at(-1)).toBe('audit verify: everything holds');
    expect(r.chain.finalHash).toBe(r.checkpoint.chainHash);
    // The scratch schema is gone.
    const left = await sql<{
      n: number;
    }>`select count(*)::int as n from information_schema.schemata where schema_name like ${`${env.schema}_verify_%`}`.execute(
      env.db,
    );
    expect(left.rows[0]!.n).toBe(0);
  });

  it('detects an event deleted from the ledger', async () => {
    const row = await sql<
      Record<string, unknown>
    >`select * from ${sql.table(`${live}.event_ledger`)} where seq = 100`.execute(env.db);
    const saved = row.rows[0]!;
    await sql`delete from ${sql.table(`${live}.event_ledger`)} where seq = 100`.execute(env.db);
    let r;
    try {
      r = await verify();
    } finally {
      await env.db
        .withSchema(live)
        .insertInto('event_ledger')
        .values(saved as never)
        .execute();
    }
    expect(r.ok).toBe(false);
    expect(r.ledger.missingFromLedger).toBe(1);
    expect(r.ledger.differences[0]).toMatchObject({ seq: 100, kind: 'missing-from-ledger' });
    const t = r.readModels.skipped ? undefined : r.readModels.tables.find((x) => x.table === 'event_ledger');
    expect(t?.firstDifferences[0]).toMatchObject({ seq: 100, kind: 'only-replay' });
  });

  it('detects a value changed in the ledger', async () => {
    const r = await tampered(
      `update $S.event_ledger set payload = replace(payload, '"actor":"fill"', '"actor":"fiLl"') where seq = 200`,
      `update $S.event_ledger set payload = replace(payload, '"actor":"fiLl"', '"actor":"fill"') where seq = 200`,
    );
    expect(r.ok).toBe(false);
    expect(r.ledger.changed).toBe(1);
    expect(r.ledger.brokenLinks).toBe(1);
    expect(r.ledger.differences.find((d) => d.kind === 'changed')?.seq).toBe(200);
  });

  it('detects two ledger rows swapped', async () => {
    const swap = `
      create temp table swap as select * from $S.event_ledger where seq in (300, 301);
      update $S.event_ledger set event_id = null where seq in (300, 301);
      update $S.event_ledger l set subject = s.subject, payload = s.payload, chain_hash = s.chain_hash, type = s.type, claim_id = s.claim_id
        from swap s where s.seq = case when l.seq = 300 then 301 else 300 end and l.seq in (300, 301);
      update $S.event_ledger l set event_id = s.event_id from swap s where s.seq = case when l.seq = 300 then 301 else 300 end and l.seq in (300, 301);`;
    const undo = `
      update $S.event_ledger set event_id = null where seq in (300, 301);
      update $S.event_ledger l set subject = s.subject, payload = s.payload, chain_hash = s.chain_hash, type = s.type, claim_id = s.claim_id, event_id = s.event_id
        from swap s where s.seq = l.seq;
      drop table swap;`;
    // One connection for the temp table.
    const r = await env.db.connection().execute(async (conn) => {
      await sql.raw(swap.replaceAll('$S', live)).execute(conn);
      try {
        return await verify();
      } finally {
        await sql.raw(undo.replaceAll('$S', live)).execute(conn);
      }
    });
    expect(r.ok).toBe(false);
    expect(r.ledger.outOfOrder).toBe(2);
    expect(r.ledger.differences.filter((d) => d.kind === 'out-of-order').map((d) => d.seq)).toEqual([300, 301]);
    expect(r.chain.firstMismatchSeq).toBe(300);
  });

  it('detects a read-model row changed', async () => {
    const r = await tampered(
      `update $S.claim_versions set best = 12345 where (claim_id, seq_from) = (select claim_id, seq_from from $S.claim_versions where best is not null order by seq_from limit 1 offset 5)`,
      `update $S.claim_versions cv set best = v.best from (select claim_id, seq_from, (value->>'value')::numeric as best from $S.claim_versions) v
         where cv.best = 12345 and v.claim_id = cv.claim_id and v.seq_from = cv.seq_from`,
    );
    expect(r.ok).toBe(false);
    expect(r.chain.ok && r.ledger.ok).toBe(true);
    const t = r.readModels.skipped ? undefined : r.readModels.tables.find((x) => x.table === 'claim_versions');
    expect(t?.differing).toBe(1);
    expect(t?.firstDifferences[0]?.kind).toBe('changed');
  });

  it('detects a read-model row deleted', async () => {
    const saved = await env.db
      .withSchema(live)
      .selectFrom('claim_citations')
      .selectAll()
      .orderBy('seq')
      .offset(10)
      .limit(1)
      .executeTakeFirstOrThrow();
    await env.db
      .withSchema(live)
      .deleteFrom('claim_citations')
      .where('claim_id', '=', saved.claim_id)
      .where('seq', '=', saved.seq)
      .execute();
    let r;
    try {
      r = await verify();
    } finally {
      await env.db
        .withSchema(live)
        .insertInto('claim_citations')
        .values({ ...saved, via: JSON.stringify(saved.via) })
        .execute();
    }
    expect(r.ok).toBe(false);
    const t = r.readModels.skipped ? undefined : r.readModels.tables.find((x) => x.table === 'claim_citations');
    expect(t?.firstDifferences[0]).toMatchObject({ seq: Number(saved.seq), kind: 'only-replay' });
  });

  it('detects a stream message missing (a stream restored from an older backup)', async () => {
    // Streams deny delete: build the "backup" as a second stream holding every message but one.
    const backup = `${env.stream}_BAK`;
    const prefix = `${env.subjectPrefix}_bak`;
    const jsm = await jetstreamManager(env.nc);
    await jsm.streams.add({ name: backup, subjects: [`${prefix}.>`] });
    try {
      const js = jetstream(env.nc);
      for await (const batch of readStream(env.nc, {
        stream: env.stream,
        subjectPrefix: env.subjectPrefix,
        toSeq: lastSeq,
        batchSize: 500,
      })) {
        for (const m of batch)
          if (m.seq !== 500) await js.publish(`${prefix}.${m.subject.slice(env.subjectPrefix.length + 1)}`, m.payload);
      }
      const r = await verify(
        {},
        { ...deps, stream: backup, subjectPrefix: prefix, ledgerSubjectPrefix: env.subjectPrefix },
      );
      expect(r.ok).toBe(false);
      expect(r.chain.firstMismatchSeq).toBe(500);
      expect(r.ledger.missingFromStream).toBe(1);
      expect(r.ledger.differences[0]).toMatchObject({ seq: 500 });
    } finally {
      await jsm.streams.delete(backup);
    }
  });

  it('holds again once every tampering was undone', async () => {
    expect((await verify()).ok).toBe(true);
  });
});

describe('replay', () => {
  it('resumes from its own checkpoint and ends equal to the live read models', async () => {
    const first = await runReplay(deps, {
      into: 'claimtrail_resume',
      toSeq: 333,
      rule: RULE,
      batchSize: 100,
      progress: quiet,
    });
    expect(first).toMatchObject({ lastSeq: 333, stoppedBy: 'to-seq', resumedFromSeq: 0 });
    const second = await runReplay(deps, { into: 'claimtrail_resume', rule: RULE, batchSize: 100, progress: quiet });
    expect(second).toMatchObject({ resumedFromSeq: 333, lastSeq, stoppedBy: 'end' });
    for (const t of READ_MODEL_TABLES)
      expect((await compareTable(env.db, live, 'claimtrail_resume', t, lastSeq, 5)).differing).toBe(0);
  });

  it('stops at --to-time: what was known at that instant', async () => {
    const at = '2025-01-01T00:01:00.000Z';
    const r = await runReplay(deps, {
      into: 'claimtrail_attime',
      toTime: at,
      rule: RULE,
      batchSize: 100,
      progress: quiet,
    });
    expect(r.stoppedBy).toBe('to-time');
    const max = await env.db
      .withSchema('claimtrail_attime')
      .selectFrom('event_ledger')
      .select(sql<string>`max(known_at)::text`.as('m'))
      .executeTakeFirstOrThrow();
    expect(new Date(max.m).getTime()).toBeLessThanOrEqual(Date.parse(at));
    const beyond = await env.db
      .withSchema(live)
      .selectFrom('event_ledger')
      .select('seq')
      .where(sql<boolean>`seq = ${r.lastSeq + 1}`)
      .select('known_at')
      .executeTakeFirstOrThrow();
    expect(new Date(beyond.known_at).getTime()).toBeGreaterThan(Date.parse(at));
  });

  it('refuses the live schema and bad arguments, naming them', async () => {
    await expect(runReplay(deps, { into: live, rule: RULE, batchSize: 100, progress: quiet })).rejects.toThrow(
      /--into .*live/,
    );
    await expect(runReplay(deps, { into: 'Bad-Name', rule: RULE, batchSize: 100, progress: quiet })).rejects.toThrow(
      /--into/,
    );
    await expect(runReplay(deps, { into: 'x_ok', rule: 'nope@1', batchSize: 100, progress: quiet })).rejects.toThrow(
      /CLAIMTRAIL_APPROX_RULE/,
    );
    await expect(
      runReplay(deps, { into: 'x_ok', toSeq: 5, promote: true, rule: RULE, batchSize: 100, progress: quiet }),
    ).rejects.toThrow(/--promote/);
  });
});

describe('audit as-of and claim', () => {
  it('as-of gives what the query API gives with knownAt, and less before later events', async () => {
    const at = '2025-01-01T00:02:00Z';
    const a = await runAsOf(deps, { at });
    const q = await createQueryApp({
      db: env.db,
      logger: createLogger('t', 'silent'),
      tokens: createPgTokenStore(env.db, env.schema),
      settings: { metaSchema: env.schema, requireReadToken: false, ratePerMinute: 100000 },
    });
    const h = (
      await q.app.inject({ url: `/v1/topics/dprk-troops-in-russia/metrics/killed/history?knownAt=${at}` })
    ).json<{ series: unknown }>();
    await q.close();
    const topic = a.topics.find((t) => t.topic === 'dprk-troops-in-russia')!;
    expect(topic.metrics.find((m) => m.metric === 'killed')!.series).toEqual(h.series);
    const now = await runAsOf(deps, { at: new Date().toISOString() });
    const count = (x: typeof a) =>
      x.topics.flatMap((t) => t.metrics.flatMap((m) => m.series.flatMap((s: { points: unknown[] }) => s.points)))
        .length;
    expect(count(a)).toBeGreaterThan(0);
    expect(count(now)).toBeGreaterThan(count(a));
    await expect(runAsOf(deps, { at: 'yesterday' })).rejects.toThrow(/<time>/);
  });

  it('claim tells each event with actor, report and a chain hash matching the stream', async () => {
    const s = await runClaimStory({ ...deps }, corrected!);
    expect(s.ok).toBe(true);
    expect(s.events.map((e) => e.type)).toEqual(expect.arrayContaining(['ClaimRecorded', 'ClaimCorrected']));
    expect(s.events[0]).toMatchObject({ type: 'ClaimRecorded', actor: 'fill', chainOk: true, stream: 'same' });
    expect(s.events[0]!.report?.url).toMatch(/^https:\/\/example.org\//);
    await expect(runClaimStory(deps, 'clm_nope')).rejects.toThrow(/<claimId>/);
  });
});

describe('export, verify-export, import', () => {
  it('exports, verifies offline, refuses a changed file, and imports into an empty stream with equal read models', async () => {
    const file = join(dir, 'all.ndjson');
    const out = createWriteStream(file);
    const m = await runExport(deps, { batchSize: 300, out, progress: quiet });
    out.end();
    await once(out, 'finish');
    expect(m).toMatchObject({ count: lastSeq, firstSeq: 1, lastSeq, complete: true });
    // No repeats in this stream: the export's chain is the ledger's.
    expect(m.chainHash).toBe((await verify({ replay: false })).checkpoint.chainHash);
    expect((await verifyExport(file)).ok).toBe(true);

    const text = await readFile(file, 'utf8');
    const bad = join(dir, 'bad.ndjson');
    await writeFile(bad, text.replace('"claim 7"', '"claim 70"'));
    const badCheck = await verifyExport(bad);
    expect(badCheck.ok).toBe(false);
    expect(badCheck.problems[0]?.detail).toMatch(/chain hash/);
    const cut = join(dir, 'cut.ndjson');
    await writeFile(cut, text.split('\n').slice(0, 50).join('\n'));
    expect((await verifyExport(cut)).problems.map((p) => p.detail).join()).toMatch(/no manifest/);

    const b = await createTestEnv('auditimport');
    try {
      const bDeps = { nc: b.nc, stream: b.stream, subjectPrefix: b.subjectPrefix, duplicateWindowS: 120 };
      await expect(runImport(bDeps, bad, { progress: quiet })).rejects.toThrow(/does not verify/);
      const r = await runImport(bDeps, file, { progress: quiet });
      expect(r).toMatchObject({ imported: lastSeq, lastSeq });
      await expect(runImport(bDeps, file, { progress: quiet })).rejects.toThrow(/not empty/);
      const bLive = (await getActiveSchema(b.db, b.schema))!;
      await projectAll(b, bLive, lastSeq);
      for (const t of [
        'claim_versions',
        'claim_citations',
        'claim_revisions',
        'reports',
        'sources',
        'metrics',
        'dead_letters',
      ] as const) {
        expect(await rowsOf(b.db, bLive, t), t).toEqual(await rowsOf(env.db, live, t));
      }
      const ledgerOf = (db: Kysely<Database>, s: string) =>
        db.withSchema(s).selectFrom('event_ledger').select(['seq', 'payload', 'chain_hash']).orderBy('seq').execute();
      expect(await ledgerOf(b.db, bLive)).toEqual(await ledgerOf(env.db, live));
    } finally {
      await b.cleanup();
    }
  });

  it('exports one topic as a partial export that verifies but is not importable', async () => {
    const file = join(dir, 'topic.ndjson');
    const out = createWriteStream(file);
    const m = await runExport(deps, { topic: 'flood-displaced', batchSize: 300, out, progress: quiet });
    out.end();
    await once(out, 'finish');
    expect(m.complete).toBe(false);
    expect(m.count).toBeGreaterThan(0);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(
      lines
        .slice(0, -1)
        .every((l) => (JSON.parse(l) as { subject: string }).subject.includes('.claim.flood-displaced.')),
    ).toBe(true);
    expect((await verifyExport(file)).ok).toBe(true);
  });
});

describe('replay --promote with a changed normalisation rule', () => {
  it('re-derives every normalised value and switches the live read models without a failed request', async () => {
    const projector = createProjector({
      nc: env.nc,
      db: env.db,
      logger: createLogger('test', process.env.TEST_LOG ?? 'silent'),
      registry: new Registry(),
      settings: {
        stream: env.stream,
        subjectPrefix: env.subjectPrefix,
        schema: live,
        batchSize: 200,
        rule: 'approx-10pct@1',
        databaseUrl: env.databaseUrl,
        followMs: 50,
      },
    });
    projector.start();
    const q = await createQueryApp({
      db: env.db,
      logger: createLogger('t', 'silent'),
      tokens: createPgTokenStore(env.db, env.schema),
      settings: { metaSchema: env.schema, requireReadToken: false, ratePerMinute: 1_000_000 },
    });
    const statuses: number[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const r = await q.app.inject({
          url: `/v1/topics/dprk-troops-in-russia/metrics/killed/history?minSeq=${lastSeq}`,
        });
        statuses.push(r.statusCode);
        await sleep(5);
      }
    })();
    try {
      const r = await runReplay(deps, {
        into: 'claimtrail_rm_10pct',
        promote: true,
        rule: 'approx-10pct@1',
        batchSize: 200,
        progress: quiet,
      });
      expect(r.promoted).toMatchObject({ from: live, to: 'claimtrail_rm_10pct' });
      expect(await getActiveSchema(env.db, env.schema)).toBe('claimtrail_rm_10pct');
      const approx = await env.db
        .withSchema('claimtrail_rm_10pct')
        .selectFrom('claim_versions')
        .select(['value', 'low', 'best', 'high', 'rule'])
        .where(sql`value->>'kind'`, '=', 'approx')
        .execute();
      expect(approx.length).toBeGreaterThan(10);
      for (const v of approx) {
        const x = (v.value as { value: number }).value;
        expect(v.rule).toBe('approx-10pct@1');
        expect([Number(v.low), Number(v.best), Number(v.high)]).toEqual(
          [x * 0.9, x, x * 1.1].map((n) => Math.round(n * 1e6) / 1e6),
        );
      }
      // The live projector followed the pointer: new events land in the promoted schema.
      const more = await publishSyntheticEvents(
        env.nc,
        syntheticEvents({
          count: 40,
          prefix: env.subjectPrefix,
          seed: 'after-promote',
          actor: 'fill',
          startMs: Date.parse('2025-06-01T00:00:00Z'),
        }),
      );
      for (
        let i = 0;
        i < 200 &&
        (projector.schema !== 'claimtrail_rm_10pct' || (await projector.store.readCheckpoint()).lastSeq < more.lastSeq);
        i += 1
      )
        await sleep(50);
      expect(projector.schema).toBe('claimtrail_rm_10pct');
      expect((await projector.store.readCheckpoint()).lastSeq).toBe(more.lastSeq);
      const after = await q.app.inject({
        url: `/v1/topics/dprk-troops-in-russia/metrics/killed/history?minSeq=${more.lastSeq}`,
      });
      expect(after.statusCode).toBe(200);
      expect(after.json<{ asOfSeq: number }>().asOfSeq).toBe(more.lastSeq);
    } finally {
      reading = false;
      await reader;
      await projector.stop();
      await q.close();
      await promoteSchema(env.db, env.schema, live);
    }
    expect(statuses.length).toBeGreaterThan(3);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });
});

describe('audit verify with parked events and repeats', () => {
  let e: TestEnv;
  let d: ReplayDeps;
  let schema: string;
  let recorded: { seq: number; claimId: string };
  let parkedSeqs: { duplicate: number; garbage: number; behind: number };
  let repeat: { seq: number; eventId: string; firstSeq: number };

  beforeAll(async () => {
    e = await createTestEnv('auditparked');
    const filled = await publishSyntheticEvents(
      e.nc,
      syntheticEvents({ count: 60, prefix: e.subjectPrefix, seed: 'parked', actor: 'fill' }),
    );
    const jsm = await jetstreamManager(e.nc);
    const js = jetstream(e.nc);
    const messages = [];
    for (let seq = 1; seq <= filled.lastSeq; seq++) messages.push((await jsm.streams.getMessage(e.stream, { seq }))!);
    const events = messages.map((m) => ({
      m,
      ev: m.json<{ eventId: string; type: string; data: { claimId?: string } }>(),
    }));
    const rec = events.find((x) => x.ev.type === 'ClaimRecorded')!;
    const corr = events.find((x) => x.ev.type === 'ClaimCorrected' && x.ev.data.claimId !== undefined)!;
    recorded = { seq: rec.m.seq, claimId: rec.ev.data.claimId! };
    // The same claim recorded again under a new event id: the projector parks it.
    const duplicate = await js.publish(
      rec.m.subject,
      JSON.stringify({ ...rec.ev, eventId: uuidv7(Date.now(), 'dup') }),
    );
    // Bytes that are no event at all.
    const garbage = await js.publish(`${e.subjectPrefix}.claim.t.clm_${'0'.repeat(24)}`, 'not an event');
    // An event of the parked claim: parked behind it.
    const behind = await js.publish(
      rec.m.subject,
      JSON.stringify({
        ...corr.ev,
        eventId: uuidv7(Date.now(), 'behind'),
        data: { ...corr.ev.data, claimId: recorded.claimId },
      }),
    );
    // The very bytes of an earlier message again, past JetStream's duplicate check (no msg id): a repeat.
    const again = await js.publish(messages[4]!.subject, messages[4]!.data);
    parkedSeqs = { duplicate: duplicate.seq, garbage: garbage.seq, behind: behind.seq };
    repeat = { seq: again.seq, eventId: events[4]!.ev.eventId, firstSeq: messages[4]!.seq };
    schema = (await getActiveSchema(e.db, e.schema))!;
    await projectAll(e, schema, again.seq);
    d = { db: e.db, nc: e.nc, stream: e.stream, subjectPrefix: e.subjectPrefix, baseSchema: e.schema };
  });
  afterAll(async () => {
    await e?.cleanup();
  });

  it('names every parked event and every repeat, and warns without failing', async () => {
    const r = await verify({}, d);
    expect(r.chain.ok && r.ledger.ok && r.readModels.ok).toBe(true);
    expect(r.ok).toBe(true);
    expect(r.verdict).toBe('holds-with-parked');
    expect(r.parked.count).toBe(3);
    expect(r.parked.events.map((p) => p.seq)).toEqual([parkedSeqs.duplicate, parkedSeqs.garbage, parkedSeqs.behind]);
    expect(r.parked.events[0]).toMatchObject({
      type: 'ClaimRecorded',
      claimId: recorded.claimId,
      reason: `claim ${recorded.claimId} was recorded before`,
    });
    expect(r.parked.events[1]).toMatchObject({ type: null, eventId: null });
    expect(r.parked.events[1]!.reason).not.toBe('');
    expect(r.parked.events[2]).toMatchObject({
      type: 'ClaimCorrected',
      claimId: recorded.claimId,
      reason: `waiting behind the parked event at seq ${parkedSeqs.duplicate} of claim ${recorded.claimId}`,
    });
    expect(r.repeats).toEqual({ count: 1, events: [repeat] });

    const lines = formatVerifyReport(r);
    expect(lines).toContain(
      '[WARN] parked: 3 events are NOT APPLIED to the read models (set aside in dead_letters); --fail-on-parked makes this a failure:',
    );
    expect(lines).toContain(
      `         seq ${parkedSeqs.duplicate}  ClaimRecorded  claim ${recorded.claimId}  event ${r.parked.events[0]!.eventId}: claim ${recorded.claimId} was recorded before`,
    );
    expect(lines.some((l) => l.startsWith(`         seq ${parkedSeqs.garbage}  (undecodable)  `))).toBe(true);
    expect(lines).toContain(`         seq ${repeat.seq} repeats seq ${repeat.firstSeq} (event ${repeat.eventId})`);
    expect(lines.at(-1)).toBe('audit verify: holds, with 3 parked events not applied (listed above)');
    expect(lines.join('\n')).not.toMatch(/everything holds/);
  });

  it('fails on them with failOnParked', async () => {
    const r = await verify({ failOnParked: true, replay: false }, d);
    expect(r.ok).toBe(false);
    expect(r.verdict).toBe('failed');
    expect(r.parked).toMatchObject({ ok: false, failOnParked: true, count: 3 });
    const lines = formatVerifyReport(r);
    expect(lines).toContain('[FAIL] parked: 3 events are NOT APPLIED to the read models (set aside in dead_letters):');
    expect(lines.at(-1)).toBe('audit verify: FAILED (3 parked events not applied)');
  });
});

async function rowsOf(
  db: Kysely<Database>,
  schema: string,
  table: 'claim_versions' | 'claim_citations' | 'claim_revisions' | 'reports' | 'sources' | 'metrics' | 'dead_letters',
) {
  const key = {
    claim_versions: 'claim_id, seq_from',
    claim_citations: 'claim_id, seq',
    claim_revisions: 'claim_id, seq',
    reports: 'report_id',
    sources: 'source_id, seq_from',
    metrics: 'metric, seq_from',
    dead_letters: 'seq',
  }[table];
  const r = await sql<
    Record<string, unknown>
  >`select * from ${sql.table(`${schema}.${table}`)} order by ${sql.raw(key)}`.execute(db);
  return r.rows.map(({ parked_at: _p, subject: _s, ...rest }) => rest);
}
