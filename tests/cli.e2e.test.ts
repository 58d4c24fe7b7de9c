import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
