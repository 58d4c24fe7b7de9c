// A claim that is not an echo comes back with `similar`: the source's claims on the same topic and
// metric whose figures overlap its own and which it stated within 7 days. A hint, nothing merged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '@claimtrail/shared/db';
import { createKvTokenStore, createSimilarFinder, startTestIngest } from '@claimtrail/ingest';
import { openBuckets } from '@claimtrail/shared/nats';
import { newToken, tokenHash } from '@claimtrail/shared/identity';
import { startProduct, type Product } from './helpers/product.ts';

let p: Product;
let n = 0;

beforeAll(async () => {
  p = await startProduct('similar');
});
afterAll(async () => {
  await p?.stop();
});

const losses = (value: Record<string, unknown>, statedAt: string, source = 'ua-general-staff') => ({
  topic: 'russian-losses',
  metric: 'killed',
  value,
  source: { id: source },
  statedAt,
});

/** Posts one report and waits until the read models hold it, as a later report's hints need. */
async function report(claims: unknown[]) {
  const res = await p.post('/v1/reports', {
    report: { url: `https://example.org/similar/${++n}`, publisher: 'Example Wire', publishedAt: '2024-11-30' },
    claims,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const seen = await p.get(`/v1/topics?minSeq=${res.body.lastSeq}`);
  expect(seen.status).toBe(200);
  return res.body as {
    claims: { claimId: string; echo: boolean; similar?: { claimId: string; statedAt: string; value: unknown }[] }[];
    warnings?: { path: string; message: string }[];
  };
}

describe('similar claims', () => {
  it("hints the source's overlapping figures stated within 7 days, nearest first, and nothing else", async () => {
    const first = (await report([losses({ kind: 'exact', value: 1480 }, '2024-11-02')])).claims[0]!;
    expect(first.similar).toBeUndefined();
    const [lower, far, otherSource, apart, retracted] = (
      await report([
        losses({ kind: 'exact', value: 1210 }, '2024-11-04'),
        losses({ kind: 'exact', value: 1480 }, '2024-11-20'),
        losses({ kind: 'exact', value: 1480 }, '2024-11-02', 'uk-defence-intelligence'),
        losses({ kind: 'at_least', value: 2000 }, '2024-11-03'),
        losses({ kind: 'range', low: 1400, high: 1600 }, '2024-10-30'),
      ])
    ).claims;
    for (const c of [far, otherSource, apart]) expect(c!.similar).toBeUndefined();
    const gone = await p.post(`/v1/claims/${retracted!.claimId}/retractions`, { reason: 'wrong report', by: 'editor' });
    expect(gone.status).toBe(202);

    // "About 1,500" on 3 November: 1,480 (the day before) and the range of 30 October overlap it;
    // 1,210 does not, 20 November is 17 days away, another source is another source, and the
    // retracted range is no hint once the read models hold its retraction.
    await p.get(`/v1/claims/${retracted!.claimId}?minSeq=${gone.body.seq}`);
    const [about] = (await report([losses({ kind: 'approx', value: 1500 }, '2024-11-03')])).claims;
    expect(about!.echo).toBe(false);
    expect(about!.similar).toEqual([
      { claimId: first.claimId, statedAt: '2024-11-02', value: { kind: 'exact', value: 1480 } },
    ]);

    // "At most 1,600" on 31 October meets every standing figure below it within the week, nearest
    // in time first: 1,480 (2 days), about 1,500 (3 days), 1,210 (4 days).
    const [atMost] = (await report([losses({ kind: 'at_most', value: 1600 }, '2024-10-31')])).claims;
    expect(atMost!.similar?.map((s) => s.claimId)).toEqual([first.claimId, about!.claimId, lower!.claimId]);
  });

  it('gives an echo no hints', async () => {
    const [a] = (await report([losses({ kind: 'exact', value: 900 }, '2025-01-10')])).claims;
    await report([losses({ kind: 'exact', value: 905 }, '2025-01-11')]);
    const [echo] = (await report([losses({ kind: 'exact', value: 900 }, '2025-01-10')])).claims;
    expect(echo).toMatchObject({ claimId: a!.claimId, echo: true });
    expect(echo!.similar).toBeUndefined();
  });

  it('answers without hints, and says so once, while the read models do not answer', async () => {
    const warnings: string[] = [];
    const dead = createDb({ url: 'postgres://postgres@127.0.0.1:1/claimtrail', max: 1 });
    try {
      const finder = createSimilarFinder(dead.db, 'claimtrail', {
        warn: (...a: unknown[]) => warnings.push(String(a.at(-1))),
      });
      const ask = () =>
        finder.find([
          {
            topic: 'russian-losses',
            metric: 'killed',
            sourceId: 'ua-general-staff',
            statedAt: '2024-11-03',
            value: { kind: 'exact', value: 1 },
            claimId: 'clm_000000000000000000000000',
          },
        ]);
      expect(await ask()).toBeUndefined();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/reports get no hints for 5 s/);
      // Within the next 5 s no lookup is tried: no second warning.
      expect(await ask()).toBeUndefined();
      expect(warnings).toHaveLength(1);

      // Through ingest: the report is stored and its answer says the hints are missing.
      const ingest = await startTestIngest(p.env, {
        similar: createSimilarFinder(dead.db, 'claimtrail', { warn: () => undefined }),
        settings: { ratePerMinute: 1000 },
      });
      const buckets = await openBuckets(p.env.nc, p.env.stream);
      try {
        const token = newToken();
        await createKvTokenStore(buckets.tokens).put(tokenHash(token), { principal: 'a', scopes: ['report:write'] });
        const res = await ingest.app.inject({
          method: 'POST',
          url: '/v1/reports',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          payload: JSON.stringify({
            report: {
              url: 'https://example.org/similar/no-read-models',
              publisher: 'Example Wire',
              publishedAt: '2024-11-30',
            },
            claims: [losses({ kind: 'exact', value: 4321 }, '2024-11-05')],
          }),
        });
        expect(res.statusCode).toBe(202);
        expect(res.json().claims[0].echo).toBe(false);
        expect(res.json().warnings).toEqual([
          {
            path: '/claims',
            message: 'similar claims were not looked up: the read models did not answer (the claims are stored)',
          },
        ]);
      } finally {
        await ingest.close();
      }
    } finally {
      await dead.db.destroy();
    }
  });
});
