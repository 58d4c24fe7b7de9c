// A seeded fuzz of hostile requests across every route of both services (FUZZ_SEED picks another
// seed, FUZZ_REQUESTS another count). Every answer is checked: nothing at or above 500 but a 503
// with Retry-After, every error problem+json with x-request-id, a 400 naming the field at fault,
// each class of attack answered as the contract says. Afterwards the projector has applied the
// whole stream and `claimtrail audit verify` holds.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { jetstreamManager } from '@nats-io/jetstream';
import { createToken, loadCliConfig } from '@claimtrail/cli';
import type { Scope } from '@claimtrail/shared/identity';
import { seededRandom } from '@claimtrail/shared/testing';
import { startProduct, type Product } from '../helpers/product.ts';
import { createHostileRequests, type HostileRequest, type Known, type Tokens } from './hostile-requests.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_207);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const CONCURRENCY = 8;
const BIN = fileURLToPath(new URL('../../services/cli/bin/claimtrail.js', import.meta.url));

let p: Product;
let tokens: Tokens;
const known: Known = { claimIds: [], conflictKey: 'fuzz-conflict-key', conflictBody: '' };

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function send(r: HostileRequest): Promise<Answer> {
  const base = r.service === 'ingest' ? p.ingestUrl : p.queryUrl;
  const res = await fetch(`${base}${r.path}`, {
    method: r.method,
    headers: r.headers,
    ...(r.body === undefined ? {} : { body: typeof r.body === 'string' ? r.body : Buffer.from(r.body) }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** What is wrong with an answer, or undefined. */
function judge(r: HostileRequest, a: Answer): string | undefined {
  if (a.status === 503) return a.headers.get('retry-after') ? undefined : '503 without Retry-After';
  if (a.status >= 500) return `${a.status}: ${a.text.slice(0, 200)}`;
  if (!r.expect.includes(a.status))
    return `answered ${a.status}, expected ${r.expect.join('|')}: ${a.text.slice(0, 200)}`;
  if (a.status < 400) return undefined;
  if (!a.headers.get('x-request-id')) return `${a.status} without x-request-id`;
  if (!(a.headers.get('content-type') ?? '').startsWith('application/problem+json'))
    return `${a.status} is not problem+json (${a.headers.get('content-type')}): ${a.text.slice(0, 120)}`;
  let body: { status?: unknown; title?: unknown; detail?: unknown; errors?: { path: string }[] };
  try {
    body = JSON.parse(a.text) as typeof body;
  } catch {
    return `${a.status} problem+json that is not JSON`;
  }
  if (body.status !== a.status || typeof body.title !== 'string' || typeof body.detail !== 'string')
    return `${a.status} problem without status/title/detail`;
  if (a.status === 400 && r.fieldPath !== undefined) {
    const paths = (body.errors ?? []).map((e) => e.path);
    if (!paths.some((x) => x === r.fieldPath || x.startsWith(`${r.fieldPath}/`)))
      return `400 does not name ${r.fieldPath} (named: ${paths.join(', ') || 'nothing'})`;
  }
  return undefined;
}

beforeAll(async () => {
  // The rate limit is tested on its own; here it would answer 429 to most of the fuzz.
  p = await startProduct('fuzz', { env: { CLAIMTRAIL_RATE_LIMIT_PER_MIN: '10000000', LOG_LEVEL: 'fatal' } });
  const config = loadCliConfig({ ...p.env.env });
  const make = (name: string, scopes: Scope[]) => createToken(config, p.env.db, p.env.nc, name, scopes);
  tokens = {
    admin: p.token,
    writer: await make('fuzz-writer', ['report:write']),
    otherWriter: await make('fuzz-other-writer', ['report:write']),
    reader: await make('fuzz-reader', ['read']),
  };
  const gen = createHostileRequests(seededRandom(SEED), tokens, known);
  known.conflictBody = JSON.stringify(gen.validReport(1));
  const first = await p.post('/v1/reports', known.conflictBody, {
    authorization: `Bearer ${tokens.writer}`,
    'idempotency-key': known.conflictKey,
  });
  expect(first.status).toBe(202);
  known.claimIds.push(...(first.body as { claims: { claimId: string }[] }).claims.map((c) => c.claimId));
});
afterAll(async () => {
  await p?.stop();
});

describe(`a seeded fuzz of ${REQUESTS} hostile requests (FUZZ_SEED=${SEED})`, () => {
  it('answers every one as the contract says, and the projector and the audit hold afterwards', async () => {
    const gen = createHostileRequests(seededRandom(SEED + 1), tokens, known);
    const statuses = new Map<number, number>();
    const byClass = new Map<string, { sent: number; wrong: number }>();
    const wrong: string[] = [];
    const answeredReports = new Set<string>();
    let corrections = 0;
    let retractions = 0;
    let sent = 0;
    const worker = async () => {
      while (sent < REQUESTS) {
        sent += 1;
        const r = gen.next();
        let a: Answer;
        try {
          a = await send(r);
        } catch (err) {
          a = { status: 0, headers: new Headers(), text: `no answer: ${(err as Error).message}` };
        }
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        const c = byClass.get(r.cls) ?? { sent: 0, wrong: 0 };
        c.sent += 1;
        const problem = a.status === 0 ? a.text : judge(r, a);
        if (problem) {
          c.wrong += 1;
          if (wrong.length < 400) wrong.push(`${r.cls} ${r.method} ${r.path.slice(0, 80)}: ${problem}`);
        }
        byClass.set(r.cls, c);
        if (r.service === 'ingest' && a.status >= 200 && a.status < 300) {
          const body = JSON.parse(a.text) as { reportId?: string; claims?: { claimId: string }[] };
          if (body.reportId) answeredReports.add(body.reportId);
          for (const cl of body.claims ?? []) if (known.claimIds.length < 500) known.claimIds.push(cl.claimId);
          if (a.status === 202 && r.path.endsWith('/corrections')) corrections += 1;
          if (a.status === 202 && r.path.endsWith('/retractions')) retractions += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    // The projector applies the whole stream; nothing it refused halts it.
    const jsm = await jetstreamManager(p.env.nc);
    const lastSeq = (await jsm.streams.info(p.env.stream)).state.last_seq;
    const checkpoint = async () =>
      Number(
        (
          await sql<{ last_seq: number }>`select last_seq from claimtrail_rm.checkpoint`
            .execute(p.env.db)
            .catch(() => ({ rows: [] }))
        ).rows[0]?.last_seq ?? 0,
      );
    await expect.poll(checkpoint, { timeout: 60_000, interval: 200 }).toBe(lastSeq);
    const parked = await sql<{
      seq: number;
      reason: string;
    }>`select seq, reason from claimtrail_rm.dead_letters order by seq`.execute(p.env.db);
    // Refused requests stored nothing: every report in the ledger was answered 2xx, and so was every
    // correction and retraction.
    const ledger = await sql<{ type: string; report_id: string | null; n: number }>`
      select type, payload::jsonb -> 'data' ->> 'reportId' as report_id, count(*)::int as n
        from claimtrail_rm.event_ledger where type in ('ReportSubmitted', 'ClaimCorrected', 'ClaimRetracted')
       group by 1, 2`.execute(p.env.db);
    const storedReports = ledger.rows.filter((r) => r.type === 'ReportSubmitted').map((r) => r.report_id!);
    const unanswered = storedReports.filter((id) => !answeredReports.has(id) && id !== undefined);
    const count = (type: string) => ledger.rows.filter((r) => r.type === type).reduce((s, r) => s + r.n, 0);

    const run = promisify(execFile);
    const audit = await run(process.execPath, [BIN, 'audit', 'verify'], {
      env: { ...process.env, ...p.env.env },
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({
        code: e.code ?? 1,
        out: `${e.stdout ?? ''}${e.stderr ?? ''}`,
      }),
    );

    const histogram = Object.fromEntries([...statuses.entries()].sort((a, b) => a[0] - b[0]));
    const fiveHundreds = [...statuses.entries()].filter(([s]) => s >= 500 && s !== 503).reduce((n, [, k]) => n + k, 0);
    const summary = {
      seed: SEED,
      requests: REQUESTS,
      statuses: histogram,
      fiveHundreds,
      wrongAnswers: [...byClass.values()].reduce((n, c) => n + c.wrong, 0),
      classes: Object.fromEntries([...byClass.entries()].sort().map(([k, v]) => [k, `${v.wrong}/${v.sent} wrong`])),
      streamLastSeq: lastSeq,
      parked: parked.rows.length,
      auditExit: audit.code,
    };
    console.log(`fuzz summary ${JSON.stringify(summary, null, 2)}`);
    if (wrong.length > 0) console.log(`first wrong answers:\n${wrong.slice(0, 60).join('\n')}`);
    if (parked.rows.length > 0) console.log(`parked: ${JSON.stringify(parked.rows.slice(0, 10))}`);

    expect(fiveHundreds).toBe(0);
    expect(wrong).toEqual([]);
    expect(unanswered).toEqual([]);
    expect(count('ClaimCorrected')).toBe(corrections);
    expect(count('ClaimRetracted')).toBe(retractions);
    expect(parked.rows).toEqual([]);
    expect(audit.code, audit.out).toBe(0);
  });

  it("keeps idempotency keys per token: another writer's identical key is another key", async () => {
    const body = JSON.parse(known.conflictBody) as { report: { url: string } };
    body.report.url = `${body.report.url}-other`;
    const other = await p.post('/v1/reports', body, {
      authorization: `Bearer ${tokens.otherWriter}`,
      'idempotency-key': known.conflictKey,
    });
    expect(other.status).toBe(202);
    // Without a key the body's hash is the key, and it is the token's too.
    const fresh = JSON.parse(known.conflictBody) as { report: { url: string } };
    fresh.report.url = `${fresh.report.url}-hashed`;
    const mine = await p.post('/v1/reports', fresh, { authorization: `Bearer ${tokens.writer}` });
    expect(mine.status).toBe(202);
    const theirs = await p.post('/v1/reports', fresh, { authorization: `Bearer ${tokens.otherWriter}` });
    expect(theirs.status).toBe(202);
    expect(theirs.body.duplicate).toBe(false);
  });
});
