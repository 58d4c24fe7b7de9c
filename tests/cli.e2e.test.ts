import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenHash } from '@claimtrail/shared/identity';
import { startNatsCluster } from '@claimtrail/shared/testing';
import { startProduct, type Product } from './helpers/product.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../services/cli/bin/claimtrail.js', import.meta.url));
let p: Product;

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...p.env.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  p = await startProduct('cli', { demo: true });
});
afterAll(async () => {
  await p?.stop();
});

describe('the claimtrail command', () => {
  it('has help everywhere', async () => {
    for (const args of [
      ['--help'],
      ['serve', '--help'],
      ['post', '--help'],
      ['token', 'create', '--help'],
      ['token', 'list', '--help'],
      ['token', 'revoke', '--help'],
      ['migrate', '--help'],
    ]) {
      const r = await cli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: claimtrail/);
    }
  });

  it('migrates idempotently', async () => {
    const r = await cli(['migrate']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/schema claimtrail: up to date/);
    expect(r.stdout).toMatch(new RegExp(`stream ${p.env.stream}: up to date`));
    expect(r.stdout).not.toMatch(/identity index/);
  });

  it('builds the identity index again with --identities, and finds the live one right', async () => {
    // The demo corrected one claim's value: the live index holds its identity, so nothing is written.
    const r = await cli(['migrate', '--identities']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /identity index: [\d,]+ claims read; 1 identities held by a claim of another id, 1 claims moved off their id's identity; 0 keys written, 0 deleted/,
    );
  });

  it('creates a token that ingest accepts, and posts report files printing claim ids and seqs', async () => {
    const t = await cli(['token', 'create', '--scope', 'report:write', '--scope', 'read', '--name', 'alice']);
    expect(t.code).toBe(0);
    const token = t.stdout.trim();
    expect(token).toMatch(/^ct_[A-Za-z0-9_-]{43}$/);
    const dir = await mkdtemp(join(tmpdir(), 'ct-cli-'));
    const file = join(dir, 'r.json');
    await writeFile(
      file,
      JSON.stringify({
        report: { url: 'https://example.org/cli', publisher: 'CLI Daily', publishedAt: '2025-03-01' },
        claims: [
          { topic: 'cli-topic', metric: 'killed', value: { kind: 'exact', value: 7 }, source: { id: 'cli-source' } },
        ],
      }),
    );
    const posted = await cli(['post', file, '--url', p.ingestUrl, '--token', token]);
    expect(posted.code).toBe(0);
    expect(posted.stdout).toMatch(/report rpt_[0-9a-f]{24}, last seq \d+/);
    expect(posted.stdout).toMatch(/clm_[0-9a-f]{24} {2}seq \d+/);
    const again = await cli(['post', file, '--url', p.ingestUrl, '--token', token]);
    expect(again.stdout).toMatch(/duplicate/);
    const json = await cli(['post', file, '--url', p.ingestUrl, '--json'], { CLAIMTRAIL_TOKEN: token });
    expect(JSON.parse(json.stdout.trim())).toMatchObject({ status: 200, duplicate: true });
  });

  it('fails clearly: bad scope, missing token, bad file, bad setting', async () => {
    const scope = await cli(['token', 'create', '--scope', 'everything']);
    expect(scope.code).not.toBe(0);
    expect(scope.stderr).toMatch(/everything.*Allowed choices/s);
    const noToken = await cli(['post', 'x.json', '--url', p.ingestUrl], { CLAIMTRAIL_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/--token or set CLAIMTRAIL_TOKEN/);
    const missing = await cli(['post', '/nonexistent.json', '--url', p.ingestUrl, '--token', p.token]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/cannot read a JSON document/);
    const badEnv = await cli(['migrate'], { INGEST_PORT: 'eighty' });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toMatch(/INGEST_PORT="eighty"/);
    expect(badEnv.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('lists tokens and revokes one by the token or by its hash; ingest then refuses it', async () => {
    const made = await cli(['token', 'create', '--scope', 'report:write', '--name', 'bob']);
    expect(made.code).toBe(0);
    const bob = made.stdout.trim();
    const body = JSON.stringify({
      report: { url: 'https://example.org/bob', publisher: 'P', publishedAt: '2025-02' },
      claims: [{ topic: 'revocation', metric: 'killed', value: { kind: 'exact', value: 1 }, source: { id: 's' } }],
    });
    const postAs = (token: string) =>
      fetch(`${p.ingestUrl}/v1/reports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });

    const list = await cli(['token', 'list', '--json']);
    expect(list.code).toBe(0);
    const rows = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { hash: string; principal: string; scopes: string[]; revokedAt: string | null });
    const row = rows.find((r) => r.hash === tokenHash(bob));
    expect(row).toMatchObject({ principal: 'bob', scopes: ['report:write'], revokedAt: null });
    expect(list.stdout).not.toContain(bob);

    const revoked = await cli(['token', 'revoke', bob]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`revoked token ${tokenHash(bob).slice(0, 12)} \\(bob\\)`));
    // Never looked up before, so no service holds it in its 5-second cache.
    expect((await postAs(bob)).status).toBe(401);
    const again = await cli(['token', 'revoke', bob]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already revoked/);
    expect((await cli(['token', 'list'])).stdout).toMatch(new RegExp(`${tokenHash(bob).slice(0, 12)}  bob .*REVOKED`));

    const carol = (
      await cli(['token', 'create', '--scope', 'report:write', '--scope', 'audit:read', '--name', 'carol'])
    ).stdout.trim();
    const byHash = await cli(['token', 'revoke', tokenHash(carol).slice(0, 12)]);
    expect(byHash.code).toBe(0);
    expect((await postAs(carol)).status).toBe(401);
    // The query service reads tokens from Postgres: refused there too.
    expect((await p.get('/v1/events', { authorization: `Bearer ${carol}` })).status).toBe(401);
    expect((await p.get('/v1/events', { authorization: `Bearer ${p.token}` })).status).toBe(200);
    expect((await postAs(p.token)).status).toBe(202);

    const bad = await cli(['token', 'revoke', 'not-a-token']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/<token> must be a token/);
    const unknown = await cli(['token', 'revoke', '0123456789abcdef']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no such token/);
  });

  it('reports a bad report with the server’s field errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ct-cli-'));
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ report: { url: 'x', publisher: 'P', publishedAt: '2025' }, claims: [] }));
    const r = await cli(['post', file, '--url', p.ingestUrl, '--token', p.token]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/400/);
    expect(r.stdout).toMatch(/\/report\/url/);
  });
});

describe('claimtrail migrate --replicas', () => {
  const stack = /^\s+at /m;

  it('refuses more than one replica on a single server in one line, exit 2, and names a bad count', async () => {
    const r = await cli(['migrate', '--replicas', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^claimtrail: cannot keep 3 replicas of streams ${p.env.stream}, KV_${p.env.stream}_idempotency, KV_${p.env.stream}_tokens, KV_${p.env.stream}_identities: the NATS server is a single server, not part of a cluster, so it holds 1 replica, and each replica needs a server of its own; use 1, or run a NATS cluster \\(docs/deployment\\.md\\)$`,
        ),
      ),
    ]);
    expect(r.stderr).not.toMatch(stack);
    const bad = await cli(['migrate', '--replicas', '9']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--replicas must be a whole number 1\.\.5, got "9"/);
    const same = await cli(['migrate', '--replicas', '1']);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toContain(`replicas of ${p.env.stream}: 1 already`);
  });

  it('creates with CLAIMTRAIL_REPLICAS=3 on a 3-node cluster, changes 3 → 1 → 3, and refuses 5 naming the cluster size', async () => {
    const cluster = await startNatsCluster({ nodes: 3 });
    try {
      await cluster.ready();
      const on = { NATS_URL: cluster.urls, CLAIMTRAIL_REPLICAS: '3' };
      const created = await cli(['migrate'], on);
      expect(created.code, created.stderr).toBe(0);
      expect(created.stdout).toMatch(
        new RegExp(
          `^stream ${p.env.stream}: created, 3 replicas \\(NATS [\\d.]+, cluster ct-\\w+ of 3 servers\\)$`,
          'm',
        ),
      );
      // A process started with the default setting leaves the count alone, and says so.
      const again = await cli(['migrate'], { NATS_URL: cluster.urls });
      expect(again.stdout).toMatch(new RegExp(`^stream ${p.env.stream}: up to date, 3 replicas`, 'm'));
      expect(again.stdout).toContain('note: the stream keeps 3 replicas while CLAIMTRAIL_REPLICAS is 1');
      const names = [
        p.env.stream,
        `KV_${p.env.stream}_idempotency`,
        `KV_${p.env.stream}_tokens`,
        `KV_${p.env.stream}_identities`,
      ];
      const down = await cli(['migrate', '--replicas', '1'], on);
      expect(down.code, down.stderr).toBe(0);
      for (const n of names) expect(down.stdout).toContain(`replicas of ${n}: 3 → 1`);
      const up = await cli(['migrate', '--replicas', '3'], on);
      expect(up.code, up.stderr).toBe(0);
      for (const n of names) expect(up.stdout).toContain(`replicas of ${n}: 1 → 3`);
      const five = await cli(['migrate', '--replicas', '5'], on);
      expect(five.code).toBe(2);
      expect(five.stderr.trimEnd()).toMatch(
        new RegExp(
          `^claimtrail: cannot keep 5 replicas of stream ${p.env.stream}: the NATS cluster ct-\\w+ has 3 servers, and each replica needs a server of its own \\(NATS answered: [^)]+\\); use at most 3 \\(docs/deployment\\.md\\)$`,
        ),
      );
      expect(five.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(five.stderr).not.toMatch(stack);
    } finally {
      await cluster.stop();
    }
  });
});
