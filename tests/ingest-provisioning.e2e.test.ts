import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';

const run = promisify(execFile);
const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));
let env: TestEnv;

beforeAll(async () => {
  // The database migrated, the stream not made: only `claimtrail migrate` makes it.
  env = await createTestEnv('ingestcheck', { migrate: false });
});
afterAll(async () => {
  await env?.cleanup();
});

/** Runs ingest until it prints `until` (then SIGTERM) or exits; its exit and output. */
function runIngest(extra: Record<string, string>, until?: RegExp) {
  const child = spawn(process.execPath, [root('services/ingest/src/main.ts')], {
    env: { ...process.env, ...env.env, INGEST_PORT: '0', LOG_LEVEL: 'info', ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const seen = (d: Buffer) => {
    out += d.toString();
    if (until?.test(out)) child.kill('SIGTERM');
  };
  child.stdout.on('data', seen);
  child.stderr.on('data', seen);
  return new Promise<{ code: number | null; out: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, out })),
  );
}

describe('ingest and the stream it needs', () => {
  it('refuses to start without the stream, in one line naming it and claimtrail migrate, exit 2', async () => {
    const r = await runIngest({});
    expect(r.code).toBe(2);
    expect(r.out).toMatch(
      new RegExp(
        `^claimtrail ingest: stream ${env.stream} does not exist; run \`claimtrail migrate\`, which creates it and its buckets`,
        'm',
      ),
    );
    expect(r.out).not.toMatch(/^\s+at /m);
    // It made nothing.
    await expect((await jetstreamManager(env.nc)).streams.info(env.stream)).rejects.toThrow(/stream not found/);
  });

  it('after claimtrail migrate starts, warning of each setting that differs and changing none of them', async () => {
    const migrated = await run(process.execPath, [root('services/cli/bin/claimtrail.js'), 'migrate'], {
      env: { ...process.env, ...env.env },
    });
    expect(migrated.stdout).toMatch(new RegExp(`stream ${env.stream}: created`));
    const jsm = await jetstreamManager(env.nc);
    const before = (await jsm.streams.info(env.stream)).config;
    const r = await runIngest({ CLAIMTRAIL_DUPLICATE_WINDOW_S: '300' }, /Server listening at/);
    expect(r.code).toBe(0);
    const warnings = r.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; setting?: string; found?: string; wanted?: string })
      .filter((l) => l.setting !== undefined);
    expect(warnings).toEqual([
      expect.objectContaining({
        level: 40,
        setting: 'duplicate_window',
        found: `${before.duplicate_window / 1e9} s`,
        wanted: '300 s',
        msg: expect.stringContaining('CLAIMTRAIL_DUPLICATE_WINDOW_S is 300'),
      }),
    ]);
    expect((await jsm.streams.info(env.stream)).config).toEqual(before);
  });
});
