// The strict JSON body parser against what it replaced (Fastify's default JSON parser, refusing
// prototype and constructor poisoning, given the body decoded as UTF-8) and against JSON.parse
// alone, on a typical report of ten claims (docs/decisions/0017-strict-json-body.md).
// Run: npx vitest bench --run --project unit packages/shared/src/http/json-body.bench.ts
import { bench, describe } from 'vitest';
import Fastify from 'fastify';
import { parseJsonBody } from './json-body.ts';

const fastifyDefault = Fastify().getDefaultJsonParser('error', 'error');

const claim = (i: number) => ({
  topic: 'dprk-troops-in-russia',
  metric: 'killed',
  value: { kind: 'range', low: 100 + i, high: 300 + i },
  source: { id: 'kr-nis', name: 'National Intelligence Service', kind: 'intelligence_agency', country: 'KR' },
  statedAt: '2025-01-13',
  validFrom: '2024-12',
  validTo: '2025-01-13',
  quote: `North Korean troops have suffered about ${300 + i} deaths and 2,700 wounded, lawmakers said after briefing ${i}`,
  via: [{ id: 'yonhap', role: 'relay' }],
});
const body = Buffer.from(
  JSON.stringify({
    report: {
      url: 'https://example.org/news/2025/01/13/nk-troops',
      publisher: 'Example Daily',
      publishedAt: '2025-01-13T09:30:00Z',
      title: 'NIS briefing on casualties',
      language: 'en',
    },
    claims: Array.from({ length: 10 }, (_, i) => claim(i)),
  }),
);

describe(`a report of 10 claims (${body.length} bytes)`, () => {
  bench("Fastify's default parser", () => {
    void fastifyDefault({} as never, body.toString('utf8'), (err) => {
      if (err) throw err;
    });
  });
  bench('JSON.parse alone', () => {
    JSON.parse(body.toString('utf8'));
  });
  bench('parseJsonBody', () => {
    parseJsonBody(body, 'application/json; charset=utf-8');
  });
});
