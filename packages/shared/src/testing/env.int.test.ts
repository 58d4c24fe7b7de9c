// Where the tests find Postgres and NATS when nobody says: the local services a new machine runs
// (README, "Start"), as `npm start` uses them, so that `npm test` needs no settings there.
import { afterEach, describe, expect, it } from 'vitest';
import { serviceUrls } from './env.ts';

const saved = { DATABASE_URL: process.env.DATABASE_URL, NATS_URL: process.env.NATS_URL };
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('serviceUrls', () => {
  it('uses the local Postgres and NATS on their usual ports when no URL is set and they answer', async () => {
    delete process.env.DATABASE_URL;
    delete process.env.NATS_URL;
    expect(await serviceUrls()).toEqual({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
      natsUrl: 'nats://127.0.0.1:4222',
    });
  });

  it('takes DATABASE_URL and NATS_URL as set', async () => {
    process.env.DATABASE_URL = 'postgres://someone@db.example:6543/elsewhere';
    process.env.NATS_URL = 'nats://nats.example:4223';
    expect(await serviceUrls()).toEqual({
      databaseUrl: 'postgres://someone@db.example:6543/elsewhere',
      natsUrl: 'nats://nats.example:4223',
    });
  });
});
