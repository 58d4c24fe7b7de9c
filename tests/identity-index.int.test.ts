// A stream written before identities followed corrections: its claims keep their ids, and once
// `claimtrail migrate` has built the identity index from it, new reports are echoes of the claims
// that say the same thing now, and of no claim that says something else.
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { openBuckets } from '@claimtrail/shared/nats';
import { createSubjects } from '@claimtrail/shared/events';
import { claimIdOf, newToken, tokenHash } from '@claimtrail/shared/identity';
import { rebuildIdentityIndex } from '@claimtrail/audit';
import { createKvTokenStore, startTestIngest } from '@claimtrail/ingest';

let env: TestEnv;
let buckets: Awaited<ReturnType<typeof openBuckets>>;
const writer = newToken();

// What ingest wrote before the period was part of a claim's identity, and before corrections moved
// identities: version 1 events, as stored.
const legacyPeriodId = claimIdOf({
  topic: 'russian-losses',
  metric: 'casualties_per_day',
  sourceId: 'uk-defence-intelligence',
  statedAt: '2024-12-05',
  value: { kind: 'approx', value: 1500 },
});
const legacyCorrectedId = claimIdOf({
  topic: 'gaza-deaths',
  metric: 'killed',
  sourceId: 'gaza-moh',
  statedAt: '2024-03-01',
  value: { kind: 'exact', value: 30053 },
});
const v1 = (type: string, n: number, data: Record<string, unknown>) =>
  JSON.stringify({
    eventId: `0190a0b0-0000-7000-8000-0000000000${String(n).padStart(2, '0')}`,
    type,
    version: 1,
    recordedAt: '2024-03-05T00:00:00.000Z',
    actor: 'alice',
    requestId: `req-old-${n}`,
    data,
  });

beforeAll(async () => {
  env = await createTestEnv('identity-index');
  const s = createSubjects(env.subjectPrefix);
  const js = jetstream(env.nc);
  // "About 1,500 a day in October", stated on 5 December, under the id its identity had then
  // (hashed without the period); its default-period twin has that id as its natural one today.
  await js.publish(
    s.claim('russian-losses', legacyPeriodId),
    v1('ClaimRecorded', 1, {
      claimId: legacyPeriodId,
      reportId: 'rpt_0000000000000000000000a1',
      topic: 'russian-losses',
      metric: 'casualties_per_day',
      value: { kind: 'approx', value: 1500 },
      unit: 'persons/day',
      sourceId: 'uk-defence-intelligence',
      via: [],
      statedAt: '2024-12-05',
      validFrom: '2024-10',
      validTo: '2024-10',
    }),
  );
  // The ministry's 30,035, typed as 30,053 and corrected before the index existed.
  await js.publish(
    s.claim('gaza-deaths', legacyCorrectedId),
    v1('ClaimRecorded', 2, {
      claimId: legacyCorrectedId,
      reportId: 'rpt_0000000000000000000000a2',
      topic: 'gaza-deaths',
      metric: 'killed',
      value: { kind: 'exact', value: 30053 },
      unit: 'persons',
      sourceId: 'gaza-moh',
      via: [],
      statedAt: '2024-03-01',
      validFrom: '2024-03-01',
      validTo: '2024-03-01',
    }),
  );
  await js.publish(
    s.claim('gaza-deaths', legacyCorrectedId),
    v1('ClaimCorrected', 3, {
      claimId: legacyCorrectedId,
      changes: { value: { kind: 'exact', value: 30035 } },
      reason: 'typo',
    }),
  );
  buckets = await openBuckets(env.nc, env.stream);
  await createKvTokenStore(buckets.tokens).put(tokenHash(writer), { principal: 'analyst', scopes: ['report:write'] });
});
afterAll(async () => {
  await env?.cleanup();
});

/** The identity index built from this file's stream, quietly. */
const rebuild = () =>
  rebuildIdentityIndex(env.nc, {
    stream: env.stream,
    subjectPrefix: env.subjectPrefix,
    kv: buckets.identities,
    quiet: true,
  });

async function withIngest<T>(
  work: (post: (claims: unknown[]) => Promise<{ claimId: string; echo: boolean }[]>) => Promise<T>,
) {
  const ingest = await startTestIngest(env);
  let n = 0;
  try {
    return await work(async (claims) => {
      const res = await ingest.app.inject({
        method: 'POST',
        url: '/v1/reports',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${writer}` },
        payload: JSON.stringify({
          report: {
            url: `https://example.org/after-migrate/${++n}`,
            publisher: 'Example Wire',
            publishedAt: '2024-12-06',
          },
          claims,
        }),
      });
      expect(res.statusCode).toBe(202);
      return res.json().claims as { claimId: string; echo: boolean }[];
    });
  } finally {
    await ingest.close();
  }
}

const october = {
  topic: 'russian-losses',
  metric: 'casualties_per_day',
  unit: 'persons/day',
  value: { kind: 'approx', value: 1500 },
  source: { id: 'uk-defence-intelligence' },
  statedAt: '2024-12-05',
  validFrom: '2024-10',
  validTo: '2024-10',
};
const gaza = (value: number) => ({
  topic: 'gaza-deaths',
  metric: 'killed',
  value: { kind: 'exact', value },
  source: { id: 'gaza-moh' },
  statedAt: '2024-03-01',
});

describe('the identity index of a stream written before it', () => {
  it('is built from the claim events, and a second build writes nothing', async () => {
    const built = await rebuild();
    expect(built).toEqual({ claims: 2, held: 2, moved: 2, put: 4, deleted: 0 });
    const again = await rebuild();
    expect(again).toEqual({ claims: 2, held: 2, moved: 2, put: 0, deleted: 0 });
  });

  it('makes a figure for the same day without a period a new claim, not an echo of the October rate', async () => {
    await withIngest(async (post) => {
      const [sameDay, octoberAgain] = await post([{ ...october, validFrom: undefined, validTo: undefined }, october]);
      expect(sameDay!.echo).toBe(false);
      expect(sameDay!.claimId).not.toBe(legacyPeriodId);
      expect(octoberAgain).toEqual({ claimId: legacyPeriodId, echo: true, seq: expect.any(Number) });
    });
  });

  it('makes a relay of the corrected figure its echo, and the typo a new claim', async () => {
    await withIngest(async (post) => {
      const [relay, typo] = await post([gaza(30035), gaza(30053)]);
      expect(relay).toMatchObject({ claimId: legacyCorrectedId, echo: true });
      expect(typo!.echo).toBe(false);
      expect(typo!.claimId).not.toBe(legacyCorrectedId);
    });
  });

  it('takes out a key the stream does not back, and names the claims recorded since under a later id', async () => {
    await buckets.identities.put('moved.clm_ffffffffffffffffffffffff', 'clm_eeeeeeeeeeeeeeeeeeeeeeee');
    const built = await rebuild();
    // The two new claims above took the next free id after a moved one's: the build writes the
    // identity each holds (a key the live index does without, as the walk finds them), and takes
    // out the stray key.
    expect(built).toEqual({ claims: 4, held: 4, moved: 4, put: 4, deleted: 1 });
    const keys: string[] = [];
    for await (const k of await buckets.identities.keys()) keys.push(k);
    expect(keys.filter((k) => k.startsWith('held.'))).toHaveLength(4);
    expect(keys.filter((k) => k.startsWith('moved.'))).toHaveLength(4);
    expect(keys).not.toContain('moved.clm_ffffffffffffffffffffffff');
  });
});
