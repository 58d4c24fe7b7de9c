// Reports folded before `published_to` existed get it from the text they were published at, as the
// projector works it out for new ones.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { mustParseFuzzyDate } from '@claimtrail/shared/events';
import { readModelMigrations } from '../infra/migrations/index.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv('published-to', { migrate: false });
});
afterAll(async () => {
  await env?.cleanup();
});

describe('migration 0005-published-to', () => {
  it('fills the end of each stored report’s publishedAt interval', async () => {
    const schema = 'before_published_to';
    await sql`create schema ${sql.id(schema)}`.execute(env.db);
    const names = Object.keys(readModelMigrations);
    const upTo = names.indexOf('0005-published-to');
    expect(upTo).toBeGreaterThan(0);
    for (const name of names.slice(0, upTo)) await readModelMigrations[name]!.up(env.db as never, schema);
    const stated = ['2024', '2024-02', '2024-02-29', '2024-12-31', '2024-03-01T12:30:00+02:00', '0001', '9999-11'];
    for (const [i, publishedAt] of stated.entries())
      await sql`insert into ${sql.id(schema, 'reports')} (report_id, seq, known_at, url, publisher, published_at, published_from)
                values (${`rpt_${i}`}, ${i + 1}, now(), 'https://example.org', 'P', ${publishedAt},
                        ${mustParseFuzzyDate(publishedAt).from}::timestamptz)`.execute(env.db);
    // The session's time zone must not move a month's end.
    await sql`set time zone 'America/New_York'`.execute(env.db);
    await readModelMigrations['0005-published-to']!.up(env.db as never, schema);
    const rows = await sql<{ published_at: string; published_to: Date }>`
      select published_at, published_to from ${sql.id(schema, 'reports')} order by seq`.execute(env.db);
    expect(rows.rows.map((r) => [r.published_at, r.published_to.toISOString()])).toEqual(
      stated.map((s) => [s, new Date(mustParseFuzzyDate(s).to).toISOString()]),
    );
  });
});
