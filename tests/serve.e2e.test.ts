import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCliConfig, serve } from '@claimtrail/cli';
import { createTestEnv } from '@claimtrail/shared/testing';
import { startProduct, type Product } from './helpers/product.ts';

const demo = JSON.parse(await readFile(new URL('../demo/nk-troops-russia.report.json', import.meta.url), 'utf8')) as {
  report: Record<string, unknown>;
  claims: Record<string, unknown>[];
};

let p: Product;
beforeAll(async () => {
  p = await startProduct('serve', { demo: true });
});
afterAll(async () => {
  await p?.stop();
});

describe('the whole path: post, fold, query', () => {
  it('serves the demo history of killed with the NIS estimate', async () => {
    const h = await p.get('/v1/topics/dprk-troops-in-russia/metrics/killed/history');
    expect(h.status).toBe(200);
    expect(h.body.series).toHaveLength(1);
    const s = h.body.series[0];
    expect(s.source).toMatchObject({
      id: 'kr-nis',
      name: 'National Intelligence Service (South Korea)',
      country: 'KR',
    });
    // The NIS's killed figures of the demo reports, in statedAt order: at least 100 in December
    // 2024, about 300 in January 2025 (the seed article, echoed in April), about 600 and 600 in
    // April, about 2,000 in September, which stands over all of them.
    expect(s.points.map((x: { statedAt: string; status: string }) => [x.statedAt, x.status])).toEqual([
      ['2024-12-19', 'superseded'],
      ['2025-01', 'superseded'],
      ['2025-04-30', 'superseded'],
      ['2025-04-30', 'superseded'],
      ['2025-09-02', 'active'],
    ]);
    const jan = s.points[1];
    expect(jan).toMatchObject({
      statedAt: '2025-01',
      low: 285,
      best: 300,
      high: 315,
      supersededBy: s.points[4].claimId,
      value: { kind: 'approx', value: 300 },
    });
    expect(jan.reports[0]).toMatchObject({
      url: 'urn:claimtrail:seed:nk-troops-russia-2025-02',
      publishedAt: '2025-02-20',
    });
    // A later report relays the same figure: an echo, cited by both.
    expect(jan.reports).toHaveLength(2);
  });

  it('lists every demo metric under the topic', async () => {
    const t = await p.get('/v1/topics');
    expect(t.status).toBe(200);
    const topic = t.body.topics.find((x: { topic: string }) => x.topic === 'dprk-troops-in-russia');
    expect(topic.metrics.map((m: { metric: string }) => m.metric).sort()).toEqual([
      'deployed',
      'killed',
      'killed_or_wounded',
      'reinforcements',
      'wounded',
    ]);
    const kw = topic.metrics.find((m: { metric: string }) => m.metric === 'killed_or_wounded');
    // Zelensky's (December and January), the US's (December and January) and the NIS's two April
    // figures (about 4,700 and 4,700).
    expect(kw).toMatchObject({
      claims: 6,
      sources: 3,
      firstStatedAt: '2024-12-23',
      lastStatedAt: '2025-04-30',
      unit: 'persons',
    });
  });

  it('answers a repost of the demo as a duplicate and stores nothing', async () => {
    const before = await p.get('/v1/topics');
    const again = await p.post('/v1/reports', demo, { 'idempotency-key': 'demo-nk-troops-russia' });
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);
    const after = await p.get('/v1/topics');
    expect(after.body.asOfSeq).toBe(before.body.asOfSeq);
  });

  it('turns a repeated estimate in another report into an echo, corrects and retracts, and time-travels', async () => {
    // A topic of its own, so the demo's other figures stay out of it.
    const estimate = { ...demo.claims[1], topic: 'serve-echo-test' };
    const first = await p.post('/v1/reports', {
      report: { url: 'https://example.org/2025/01/first', publisher: 'Example Daily', publishedAt: '2025-01-14' },
      claims: [estimate],
    });
    expect(first.status).toBe(202);
    expect(first.body.claims[0].echo).toBe(false);
    const echoReport = {
      report: {
        url: 'https://example.org/2025/01/nis-briefing',
        publisher: 'Example Daily',
        publishedAt: '2025-01-15',
      },
      claims: [{ ...estimate, source: { id: 'kr-nis' }, via: [{ id: 'kr-lawmaker-lee', role: 'briefer' }] }],
    };
    const echo = await p.post('/v1/reports', echoReport);
    expect(echo.status).toBe(202);
    expect(echo.body.claims[0].echo).toBe(true);
    const claimId: string = echo.body.claims[0].claimId;

    const cited = await p.get(`/v1/claims/${claimId}?minSeq=${echo.body.lastSeq}`);
    expect(cited.status).toBe(200);
    expect(cited.body.reports).toHaveLength(2);
    expect(cited.body.revisions.map((r: { type: string }) => r.type)).toEqual(['ClaimRecorded', 'ClaimCited']);

    await new Promise((r) => setTimeout(r, 20));
    const beforeCorrection = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const corr = await p.post(`/v1/claims/${claimId}/corrections`, {
      changes: { value: { kind: 'approx', value: 350 } },
      reason: 'misread the figure',
    });
    expect(corr.status).toBe(202);
    const now = await p.get(`/v1/topics/serve-echo-test/metrics/killed/history?minSeq=${corr.body.seq}`);
    expect(now.body.series[0].points[0]).toMatchObject({
      value: { kind: 'approx', value: 350 },
      status: 'corrected',
      // approx-digits@1: the half-width is the place of the last non-zero digit (10), under 5 %.
      low: 340,
      high: 360,
    });
    const past = await p.get(`/v1/topics/serve-echo-test/metrics/killed/history?knownAt=${beforeCorrection}`);
    expect(past.body.series[0].points[0]).toMatchObject({ value: { kind: 'approx', value: 300 }, status: 'active' });
    expect(past.body.knownAt).toBe(beforeCorrection);

    const retr = await p.post(`/v1/claims/${claimId}/retractions`, { reason: 'the agency withdrew it', by: 'source' });
    expect(retr.status).toBe(202);
    const hidden = await p.get(`/v1/topics/serve-echo-test/metrics/killed/history?minSeq=${retr.body.seq}`);
    expect(hidden.body.series).toHaveLength(0);
    const shown = await p.get(`/v1/topics/serve-echo-test/metrics/killed/history?includeRetracted=true`);
    expect(shown.body.series[0].points[0].status).toBe('retracted');
    const twice = await p.post(`/v1/claims/${claimId}/retractions`, { reason: 'again', by: 'editor' });
    expect(twice.status).toBe(409);
    const story = await p.get(`/v1/claims/${claimId}`);
    expect(story.body.revisions.map((r: { type: string }) => r.type)).toEqual([
      'ClaimRecorded',
      'ClaimCited',
      'ClaimCorrected',
      'ClaimRetracted',
    ]);
    expect(story.body.revisions[2]).toMatchObject({
      actor: 'demo',
      reason: 'misread the figure',
      changes: { value: { kind: 'approx', value: 350 } },
    });
  });
});

describe('the projector thread of claimtrail serve', () => {
  it('serves the projector metrics, with the events it folded', async () => {
    const metrics = await fetch(`${p.projectorUrl}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    const applied = /^projector_events_applied_total (\d+)/m.exec(text);
    expect(Number(applied?.[1])).toBeGreaterThan(0);
  });

  it('names PROJECTOR_PORT when the projector cannot listen, and leaves nothing listening', async () => {
    const env = await createTestEnv('serveport');
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const taken = (blocker.address() as { port: number }).port;
    const free = createServer();
    free.listen(0, '127.0.0.1');
    await once(free, 'listening');
    const queryPort = (free.address() as { port: number }).port;
    free.close();
    await once(free, 'close');
    try {
      const config = loadCliConfig({
        ...env.env,
        HOST: '127.0.0.1',
        INGEST_PORT: '0',
        QUERY_PORT: String(queryPort),
        PROJECTOR_PORT: String(taken),
        LOG_LEVEL: 'warn',
      });
      const started = serve(config, {
        demo: false,
        tokenFile: join(tmpdir(), `claimtrail-${env.id}`, 'token'),
        out: () => undefined,
      });
      await expect(started).rejects.toThrow(/the projector did not start: .*EADDRINUSE.*\(set PROJECTOR_PORT\)/);
      // The query service it had started is closed again: its port can be taken.
      const again = createServer();
      again.listen(queryPort, '127.0.0.1');
      await once(again, 'listening');
      again.close();
    } finally {
      blocker.close();
      await env.cleanup();
    }
  });
});
