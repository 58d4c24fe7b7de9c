import { startTestProjector } from './test-projector.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { migrateReadModel } from '@claimtrail/shared/db';
import { createTestEnv, publishSyntheticEvents, syntheticEvents, type TestEnv } from '@claimtrail/shared/testing';
import { createProjectionStore } from './projection-store.ts';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv('fold-rule');
});
afterAll(async () => {
  await env?.cleanup();
});

function foldInto(schema: string, configured: string) {
  return startTestProjector(env, { schema, rule: configured, metaSchema: null });
}

describe('the normalisation rule of a read-model schema', () => {
  it('is stored by its first fold, and a projector configured otherwise keeps folding with it', async () => {
    await migrateReadModel(env.db, 'rule_rm');
    const { lastSeq: last } = await publishSyntheticEvents(
      env.nc,
      syntheticEvents({ count: 200, prefix: env.subjectPrefix, seed: 5 }),
    );
    const first = await foldInto('rule_rm', 'approx-10pct@1');
    const store = createProjectionStore(env.db, 'rule_rm');
    await expect.poll(async () => (await store.readCheckpoint()).lastSeq, { timeout: 20_000 }).toBe(last);
    await first.projector.stop();

    // A projector started with another rule (say after the default changed) folds new events
    // with the schema's rule, not its own.
    const { lastSeq: more } = await publishSyntheticEvents(
      env.nc,
      syntheticEvents({ count: 200, prefix: env.subjectPrefix, seed: 6 }),
    );
    const second = await foldInto('rule_rm', 'approx-digits@1');
    await expect.poll(async () => (await store.readCheckpoint()).lastSeq, { timeout: 20_000 }).toBe(more);
    await second.projector.stop();
    const rules = await sql<{ rule: string; n: number }>`
      select rule, count(*)::int as n from rule_rm.claim_versions group by rule`.execute(env.db);
    expect(rules.rows.map((r) => r.rule)).toEqual(['approx-10pct@1']);
    expect(await store.settleRule('approx-5pct@1')).toBe('approx-10pct@1');
  });

  it('of a fresh schema is the configured one', async () => {
    await migrateReadModel(env.db, 'fresh_rm');
    expect(await createProjectionStore(env.db, 'fresh_rm').settleRule('approx-digits@1')).toBe('approx-digits@1');
  });
});
