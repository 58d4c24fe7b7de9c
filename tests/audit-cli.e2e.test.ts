import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { getActiveSchema } from '@claimtrail/shared/db';
import { uuidv7 } from '@claimtrail/shared/identity';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { startProduct, type Product } from './helpers/product.ts';

// The audit commands as users run them: `node services/cli/bin/claimtrail.js …` as a child
// process over the demo data, checked by exit code, stdout (JSON) and stderr (progress).
const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../services/cli/bin/claimtrail.js', import.meta.url));
let p: Product;
let live: string;
let lastSeq: number;
let dir: string;

async function cli(args: string[], env: Record<string, string> = p.env.env) {
  try {
    const r = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const json = <T = any>(s: string): T => JSON.parse(s) as T;
const ledgerSql = (q: string) => sql.raw(q.replaceAll('$S', live)).execute(p.env.db);

beforeAll(async () => {
  p = await startProduct('auditcli', { demo: true });
  dir = await mkdtemp(join(tmpdir(), 'claimtrail-audit-cli-'));
  live = (await getActiveSchema(p.env.db, p.env.schema))!;
  const jsm = await jetstreamManager(p.env.nc);
  lastSeq = (await jsm.streams.info(p.env.stream)).state.last_seq;
  expect(lastSeq).toBeGreaterThan(10);
  // The demo is posted by serve; wait until the projector folded all of it.
  for (let i = 0; i < 400; i += 1) {
    const cp = await p.env.db
      .withSchema(live)
      .selectFrom('checkpoint')
      .select('last_seq')
      .where('name', '=', 'projector')
      .executeTakeFirst();
    if (cp && Number(cp.last_seq) >= lastSeq) break;
    await sleep(50);
  }
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await p?.stop();
});

describe('claimtrail audit commands as a child process', () => {
  it('replay --into x --json folds the whole stream, with plain progress lines on stderr when not a TTY', async () => {
    const r = await cli(['replay', '--into', 'claimtrail_cli_replay', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = json(r.stdout);
    expect(out).toMatchObject({ schema: 'claimtrail_cli_replay', lastSeq, folded: lastSeq, stoppedBy: 'end' });
    const cp = await p.env.db
      .withSchema(live)
      .selectFrom('checkpoint')
      .select('chain_hash')
      .where('name', '=', 'projector')
      .executeTakeFirstOrThrow();
    expect(out.chainHash).toBe(cp.chain_hash);
    // Not a terminal: whole lines, no carriage returns or escape sequences of a redrawn bar.
    expect(r.stderr).toMatch(
      new RegExp(`^replay claimtrail_cli_replay: ${lastSeq} in [\\d.]+s \\([\\d,]+ ev/s\\)`, 'm'),
    );
    expect(r.stderr).not.toMatch(/[\r\x1b]/);
    // Resumable: a second run starts from the schema's own checkpoint and folds nothing.
    const again = json((await cli(['replay', '--into', 'claimtrail_cli_replay', '--json'])).stdout);
    expect(again).toMatchObject({ resumedFromSeq: lastSeq, lastSeq, folded: 0 });
  });

  it('audit verify --json exits 0 on a clean stream and 1 after a ledger row was changed', async () => {
    const clean = await cli(['audit', 'verify', '--json']);
    expect(clean.code, clean.stderr).toBe(0);
    const c = json(clean.stdout);
    expect(c).toMatchObject({
      ok: true,
      chain: { ok: true, recomputed: lastSeq },
      ledger: { ok: true, compared: lastSeq },
    });
    expect(c.readModels).toMatchObject({ ok: true, skipped: false, atSeq: lastSeq });
    expect(clean.stderr).toMatch(/^verify: stream vs ledger: /m);
    expect(clean.stderr).toMatch(/^verify: replay: /m);

    const seq = Math.min(7, lastSeq);
    await ledgerSql(
      `update $S.event_ledger set payload = replace(payload, '"actor":"', '"actor":"X') where seq = ${seq}`,
    );
    try {
      const bad = await cli(['audit', 'verify', '--json', '--no-replay']);
      expect(bad.code).toBe(1);
      const b = json(bad.stdout);
      expect(b.ok).toBe(false);
      expect(b.ledger.changed).toBe(1);
      expect(b.ledger.differences[0]).toMatchObject({ seq, kind: 'changed' });
      // The human report names the check and the seq too.
      const text = await cli(['audit', 'verify', '--no-replay']);
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/\[FAIL\] ledger: .*1 changed/);
      expect(text.stdout).toContain(`seq ${seq}: changed:`);
      expect(text.stdout).toMatch(/audit verify: FAILED$/m);
    } finally {
      await ledgerSql(
        `update $S.event_ledger set payload = replace(payload, '"actor":"X', '"actor":"') where seq = ${seq}`,
      );
    }
    expect((await cli(['audit', 'verify', '--json', '--no-replay'])).code).toBe(0);
  });

  it('audit as-of <t> --json answers what the query API answers with knownAt, and nothing before the first event', async () => {
    const r = await p.env.db
      .withSchema(live)
      .selectFrom('event_ledger')
      .select([sql<string>`min(recorded_at)::text`.as('first'), sql<string>`max(recorded_at)::text`.as('last')])
      .executeTakeFirstOrThrow();
    const at = new Date(r.last).toISOString();
    const a = await cli(['audit', 'as-of', at, '--json']);
    expect(a.code, a.stderr).toBe(0);
    const answer = json(a.stdout);
    expect(answer.knownAt).toBe(at);
    expect(answer.topics.length).toBeGreaterThan(0);
    const auth = { authorization: `Bearer ${p.token}` };
    for (const t of answer.topics)
      for (const m of t.metrics) {
        const h = await p.get(
          `/v1/topics/${t.topic}/metrics/${m.metric}/history?knownAt=${encodeURIComponent(at)}`,
          auth,
        );
        expect(h.status).toBe(200);
        expect(m.series).toEqual(h.body.series);
      }
    const table = await cli(['audit', 'as-of', at]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^known at .* \(projection at seq \d+\)/);
    expect(table.stdout).toMatch(/topic\s+metric\s+source/);

    const before = new Date(new Date(r.first).getTime() - 1000).toISOString();
    const empty = await cli(['audit', 'as-of', before, '--json']);
    expect(empty.code).toBe(0);
    expect(json(empty.stdout).topics).toEqual([]);
  });

  it('audit claim <id> tells each event of a claim with actor, report and chain hash', async () => {
    const claim = await p.env.db
      .withSchema(live)
      .selectFrom('claim_versions')
      .select('claim_id')
      .orderBy('seq_from')
      .executeTakeFirstOrThrow();
    const r = await cli(['audit', 'claim', claim.claim_id]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^claim ${claim.claim_id} \\(\\d+ events`));
    expect(r.stdout).toMatch(/^seq \d+ {2}ClaimRecorded {2}by \S+ {2}at \d{4}-/m);
    expect(r.stdout).toMatch(/^ {4}report rpt_[0-9a-f]+: /m);
    expect(r.stdout).toMatch(/^ {4}chain [0-9a-f]{64} follows from its predecessor/m);
    const j = json((await cli(['audit', 'claim', claim.claim_id, '--json'])).stdout);
    expect(j.ok).toBe(true);
    expect(j.events[0]).toMatchObject({ type: 'ClaimRecorded', chainOk: true });
  });

  it('export to a file verifies offline (exit 0), a changed file does not (exit 1), and it imports into an empty stream with the same chain', async () => {
    const file = join(dir, 'demo.ndjson');
    const e = await cli(['export', '-o', file, '--json']);
    expect(e.code, e.stderr).toBe(0);
    const manifest = json(e.stdout);
    expect(manifest).toMatchObject({ count: lastSeq, firstSeq: 1, lastSeq, complete: true });

    // verify-export needs neither NATS nor Postgres: give it unusable URLs.
    const offline = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', NATS_URL: 'nats://127.0.0.1:1' };
    const ok = await cli(['verify-export', file], offline);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`${lastSeq} events, seq 1..${lastSeq}, chain hash ${manifest.chainHash}`);

    const text = await readFile(file, 'utf8');
    const changed = join(dir, 'changed.ndjson');
    await writeFile(changed, text.replace('"actor":"', '"actor":"X'));
    expect(text).not.toBe(await readFile(changed, 'utf8'));
    const bad = await cli(['verify-export', changed, '--json'], offline);
    expect(bad.code).toBe(1);
    expect(json(bad.stdout).ok).toBe(false);

    const b: TestEnv = await createTestEnv('auditcliimport');
    try {
      const refused = await cli(['import', changed], b.env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/does not verify, nothing imported/);
      const imp = await cli(['import', file, '--json'], b.env);
      expect(imp.code, imp.stderr).toBe(0);
      expect(json(imp.stdout)).toMatchObject({ imported: lastSeq, lastSeq, chainHash: manifest.chainHash });
      const twice = await cli(['import', file], b.env);
      expect(twice.code).toBe(1);
      expect(twice.stderr).toMatch(/is not empty/);
      // The imported stream folds to the same chain as the original's live read models.
      const rb = await cli(['replay', '--into', 'claimtrail_imported', '--promote', '--json'], b.env);
      expect(rb.code, rb.stderr).toBe(0);
      const ra = await cli(['replay', '--into', 'claimtrail_cli_replay', '--json']);
      expect(json(rb.stdout).chainHash).toBe(json(ra.stdout).chainHash);
      const vb = await cli(['audit', 'verify', '--json'], b.env);
      expect(vb.code, vb.stderr).toBe(0);
      expect(json(vb.stdout).chain.finalHash).toBe(manifest.chainHash);
    } finally {
      await b.cleanup();
    }
  });

  it('a bad argument is named, with exit 2', async () => {
    for (const [args, named] of [
      [['replay', '--into', 'x', '--to-seq', 'abc'], '--to-seq'],
      [['replay', '--into', 'x', '--to-time', 'yesterday'], '--to-time'],
      [['replay', '--into', 'Bad-Name'], '--into'],
      [['audit', 'verify', '--from-seq', '0'], '--from-seq'],
      [['audit', 'as-of', 'yesterday'], '<time>'],
      [['audit', 'claim', 'nope'], '<claimId>'],
      [['export', '--from-seq', '-3'], '--from-seq'],
      [['verify-export'], 'file'],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(named);
      expect(r.stdout).toBe('');
    }
  });

  // Last: it adds events to the demo stream, which the tests above count.
  it('audit verify names parked events and repeats, warns with exit 0, and exits 1 with --fail-on-parked', async () => {
    const jsm = await jetstreamManager(p.env.nc);
    const js = jetstream(p.env.nc);
    let recorded: { subject: string; event: { type: string; data: { claimId: string } } } | undefined;
    for (let seq = 1; seq <= lastSeq && !recorded; seq++) {
      const m = (await jsm.streams.getMessage(p.env.stream, { seq }))!;
      const event = m.json<{ type: string; data: { claimId: string } }>();
      if (event.type === 'ClaimRecorded') recorded = { subject: m.subject, event };
    }
    const claimId = recorded!.event.data.claimId;
    const dup = await js.publish(
      recorded!.subject,
      JSON.stringify({ ...recorded!.event, eventId: uuidv7(Date.now(), 'cli-dup') }),
    );
    const garbage = await js.publish(`${p.env.subjectPrefix}.claim.t.clm_${'1'.repeat(24)}`, '{"not":"an event"}');
    const first = (await jsm.streams.getMessage(p.env.stream, { seq: 1 }))!;
    const again = await js.publish(first.subject, first.data);
    for (let i = 0; i < 400; i += 1) {
      const cp = await p.env.db
        .withSchema(live)
        .selectFrom('checkpoint')
        .select('last_seq')
        .where('name', '=', 'projector')
        .executeTakeFirst();
      if (cp && Number(cp.last_seq) >= again.seq) break;
      await sleep(50);
    }

    const warned = await cli(['audit', 'verify', '--no-replay']);
    expect(warned.code, warned.stderr).toBe(0);
    const lines = warned.stdout.trimEnd().split('\n');
    expect(lines).toContain(
      '[WARN] parked: 2 events are NOT APPLIED to the read models (set aside in dead_letters); --fail-on-parked makes this a failure:',
    );
    expect(warned.stdout).toMatch(
      new RegExp(
        `^ {9}seq ${dup.seq} {2}ClaimRecorded {2}claim ${claimId} {2}event \\S+: claim ${claimId} was recorded before$`,
        'm',
      ),
    );
    expect(warned.stdout).toMatch(new RegExp(`^ {9}seq ${garbage.seq} {2}\\(undecodable\\) {2}`, 'm'));
    expect(lines).toContain(
      `         seq ${again.seq} repeats seq 1 (event ${first.json<{ eventId: string }>().eventId})`,
    );
    expect(lines.at(-1)).toBe('audit verify: holds, with 2 parked events not applied (listed above)');
    expect(warned.stdout).not.toMatch(/everything holds/);

    const failed = await cli(['audit', 'verify', '--no-replay', '--fail-on-parked']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^\[FAIL\] parked: 2 events are NOT APPLIED/m);
    expect(failed.stdout.trimEnd().split('\n').at(-1)).toBe('audit verify: FAILED (2 parked events not applied)');

    const asJson = await cli(['audit', 'verify', '--no-replay', '--fail-on-parked', '--json']);
    expect(asJson.code).toBe(1);
    const j = json(asJson.stdout);
    expect(j).toMatchObject({ ok: false, verdict: 'failed', parked: { ok: false, failOnParked: true, count: 2 } });
    expect(j.parked.events.map((e: { seq: number }) => e.seq)).toEqual([dup.seq, garbage.seq]);
    expect(j.parked.events[0]).toMatchObject({ type: 'ClaimRecorded', claimId });
    expect(j.repeats).toEqual({
      count: 1,
      events: [{ seq: again.seq, firstSeq: 1, eventId: first.json<{ eventId: string }>().eventId }],
    });
    const jsonWarned = json((await cli(['audit', 'verify', '--no-replay', '--json'])).stdout);
    expect(jsonWarned).toMatchObject({ ok: true, verdict: 'holds-with-parked' });
  });
});
