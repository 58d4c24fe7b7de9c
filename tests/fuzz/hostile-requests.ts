// Seeded generator of hostile HTTP requests against both services: each request names the class
// of attack it belongs to and what a correct answer is (a status or a set of them, and the field
// path a 400 must name). The test (hostile.e2e.test.ts) sends them and checks every answer.

export type Service = 'ingest' | 'query';

export interface HostileRequest {
  cls: string;
  service: Service;
  method: 'GET' | 'POST';
  /** Path and query, sent as they are (already percent-encoded where meant). */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** The statuses a correct service answers (503 with Retry-After is always allowed). */
  expect: readonly number[];
  /** A 400 must name this path (or one below it) in `errors`. */
  fieldPath?: string;
}

export interface Tokens {
  admin: string;
  writer: string;
  /** A second writer: its idempotency keys are its own. */
  otherWriter: string;
  reader: string;
}

/** What the generator knows of the data (filled in as writes are answered). */
export interface Known {
  claimIds: string[];
  /** A key and the body first posted with it (by the writer). */
  conflictKey: string;
  conflictBody: string;
}

const TOPICS = ['dprk-troops-in-russia', 'fuzz-topic', 'gaza-deaths'];
const METRICS = ['killed', 'wounded', 'killed_or_wounded', 'deployed'];
const SOURCES = ['kr-nis', 'ua-president', 'us-government', 'fuzz-src'];

/** Dates Postgres or JavaScript cannot hold, or that are no dates. */
export const BAD_DATES = [
  '0000',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00+01:00',
  '9999',
  '9999-12',
  '9999-12-31',
  '9999-12-31T23:59:59-23:59',
  '10000-01-01',
  '+010000-01-01T00:00:00Z',
  '2025-02-30',
  '2025-13',
  '2025-1-1',
  '25',
  '2025-02-21T10:00:00',
  '2025-02-21T24:00:00Z',
  ' 2025',
  '',
];
/** Dates at the edges of the domain: valid, and must not halt the projector. */
export const EDGE_DATES = [
  '0001',
  '0001-01',
  '0050-06',
  '0099-12-31',
  '9999-12-30',
  '9998',
  '2025-02-21T23:59:59-23:59',
];

/** Strings the contract refuses anywhere. */
const BAD_STRINGS = ['a\u0000b', 'bidi \u202e override', 'lone \ud800 surrogate', 'isolate \u2066x\u2069'];

export function createHostileRequests(rand: () => number, tokens: Tokens, known: Known) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (n: number) => Math.floor(rand() * n);
  const auth = (t: string) => ({ authorization: `Bearer ${t}` });
  const json = { 'content-type': 'application/json' };
  let unique = 0;
  const uid = () => `${Date.now().toString(36)}-${(unique++).toString(36)}-${int(1e9).toString(36)}`;

  function validValue(): Record<string, unknown> {
    const v = 1 + int(100_000);
    switch (int(5)) {
      case 0:
        return { kind: 'exact', value: v };
      case 1:
        return { kind: 'approx', value: v };
      case 2:
        return { kind: 'range', low: v, high: v + int(10_000) };
      case 3:
        return { kind: 'at_least', value: v };
      default:
        return { kind: 'at_most', value: v };
    }
  }
  function validClaim(): Record<string, unknown> {
    const c: Record<string, unknown> = {
      topic: pick(TOPICS),
      metric: pick(METRICS),
      value: validValue(),
      source: { id: pick(SOURCES), name: `Source ${int(10)}` },
      statedAt: rand() < 0.2 ? pick(EDGE_DATES) : `20${10 + int(16)}-0${1 + int(9)}`,
      quote: `figure ${uid()}`,
    };
    if (rand() < 0.3) c.via = [{ id: pick(SOURCES), role: 'relay' }];
    return c;
  }
  function validReport(claims = 1 + int(3)): Record<string, unknown> {
    return {
      report: {
        url: `https://fuzz.example/${uid()}`,
        publisher: 'Fuzz Daily',
        publishedAt: rand() < 0.2 ? pick(EDGE_DATES) : '2025-02-21',
        ...(rand() < 0.5 ? { title: 'A title', language: 'en' } : {}),
      },
      claims: Array.from({ length: claims }, validClaim),
    };
  }

  /** Sets the value at a JSON pointer (creating nothing): the path must exist up to its parent. */
  function setAt(doc: unknown, pointer: string, value: unknown): void {
    const parts = pointer.split('/').slice(1);
    let node = doc as Record<string, unknown>;
    for (const p of parts.slice(0, -1)) node = node[p] as Record<string, unknown>;
    node[parts.at(-1)!] = value;
  }

  const reportPost = (
    body: string | Uint8Array,
    expect: readonly number[],
    o: Partial<HostileRequest> & { cls: string },
  ): HostileRequest => ({
    service: 'ingest' as const,
    method: 'POST' as const,
    path: '/v1/reports',
    headers: { ...json, ...auth(tokens.writer), 'idempotency-key': uid() },
    body,
    expect,
    ...o,
  });

  /** One mutation of a valid report at a field: each must be refused at that field. */
  function fieldAttack(): HostileRequest {
    const doc = validReport(2) as { report: Record<string, unknown>; claims: Record<string, unknown>[] };
    const i = int(2);
    const attacks: (() => [string, string])[] = [
      () => {
        const f = pick(['statedAt', 'validFrom', 'validTo']);
        const d = pick(BAD_DATES);
        setAt(doc, `/claims/${i}/${f}`, d);
        return [`/claims/${i}/${f}`, 'bad-date'];
      },
      () => {
        setAt(doc, '/report/publishedAt', pick(BAD_DATES));
        return ['/report/publishedAt', 'bad-date'];
      },
      () => {
        setAt(doc, '/report/retrievedAt', pick(BAD_DATES));
        return ['/report/retrievedAt', 'bad-date'];
      },
      () => {
        const f = pick(['/report/publisher', '/report/title', `/claims/${i}/quote`, `/claims/${i}/source/name`]);
        setAt(doc, f, pick(BAD_STRINGS));
        return [f, 'bad-string'];
      },
      () => {
        const v = pick([-1, 1e16, 1.1234567, 'twelve', null, [1], { value: 1 }]);
        setAt(doc, `/claims/${i}/value/value`, v);
        (doc.claims[i] as { value: Record<string, unknown> }).value.kind = 'exact';
        delete (doc.claims[i] as { value: Record<string, unknown> }).value.low;
        delete (doc.claims[i] as { value: Record<string, unknown> }).value.high;
        return [`/claims/${i}/value`, 'bad-number'];
      },
      () => {
        setAt(doc, `/claims/${i}/value`, { kind: 'range', low: 10, high: 5 });
        return [`/claims/${i}/value`, 'low-above-high'];
      },
      () => {
        setAt(doc, `/claims/${i}/topic`, pick(['Upper', 'a b', 'x'.repeat(65), '-lead', 'nul\u0000', '']));
        return [`/claims/${i}/topic`, 'bad-slug'];
      },
      () => {
        setAt(doc, `/claims/${i}/metric`, pick(['Killed', 'kil-led', 'x'.repeat(65), '']));
        return [`/claims/${i}/metric`, 'bad-slug'];
      },
      () => {
        setAt(doc, `/claims/${i}/source/country`, pick(['kr', 'KOR', '12']));
        return [`/claims/${i}/source/country`, 'bad-country'];
      },
      () => {
        setAt(doc, `/claims/${i}/quote`, 'q'.repeat(2001));
        return [`/claims/${i}/quote`, 'too-long'];
      },
      () => {
        setAt(doc, '/report/url', pick(['javascript:alert(1)', 'not a url', `https://x.example/${'a'.repeat(2050)}`]));
        return ['/report/url', 'bad-url'];
      },
      () => {
        setAt(doc, `/claims/${i}/bogus`, 1);
        return [`/claims/${i}/bogus`, 'unknown-field'];
      },
      () => {
        setAt(
          doc,
          `/claims/${i}/via`,
          Array.from({ length: 9 }, () => ({ id: 'x', role: 'relay' })),
        );
        return [`/claims/${i}/via`, 'too-many-hops'];
      },
      () => {
        delete doc.report.publishedAt;
        return ['/report/publishedAt', 'missing'];
      },
    ];
    const [path, cls] = pick(attacks)();
    return reportPost(JSON.stringify(doc), [400], { cls: `body:${cls}`, fieldPath: path });
  }

  /** Attacks on how the body is written, not what it says. */
  function encodingAttack(): HostileRequest {
    const good = JSON.stringify(validReport());
    const bytes = new TextEncoder().encode(good);
    switch (int(9)) {
      case 0: {
        // Invalid UTF-8 inside a string.
        const at = good.indexOf('Fuzz Daily') + 2;
        const bad = new Uint8Array([...bytes.slice(0, at), 0xff, 0xfe, ...bytes.slice(at)]);
        return reportPost(bad, [400], { cls: 'encoding:invalid-utf8' });
      }
      case 1: {
        // The same key twice: which one counts must not be a guess.
        const dup = good.replace('"publisher":"Fuzz Daily"', '"publisher":"Fuzz Daily","publisher":"Other"');
        return reportPost(dup, [400], { cls: 'encoding:duplicate-key', fieldPath: '/report/publisher' });
      }
      case 2:
        return reportPost(good, [415], {
          cls: 'encoding:charset',
          headers: {
            'content-type': `application/json; charset=${pick(['latin1', 'utf-16', 'iso-8859-1'])}`,
            ...auth(tokens.writer),
            'idempotency-key': uid(),
          },
        });
      case 3: {
        const key = pick(['__proto__', 'constructor', 'prototype']);
        const poisoned = good.replace('{"report":{', `{"report":{"${key}":{"polluted":true},`);
        return reportPost(poisoned, [400], { cls: 'encoding:proto-key', fieldPath: `/report/${key}` });
      }
      case 4:
        return reportPost(good.slice(0, int(good.length - 1)), [400], { cls: 'encoding:truncated' });
      case 5:
        return reportPost('', [400], { cls: 'encoding:empty' });
      case 6:
        return reportPost(`{"report":${'['.repeat(20_000)}`, [400], { cls: 'encoding:deep-nesting' });
      case 7:
        return reportPost(good, [415], {
          cls: 'encoding:content-type',
          headers: {
            'content-type': pick(['text/plain', 'application/xml', 'multipart/form-data; boundary=x']),
            ...auth(tokens.writer),
          },
        });
      default:
        return reportPost(`{"report":{"url":"${'x'.repeat(1024 * 1024 + 10)}"}}`, [413], { cls: 'encoding:too-large' });
    }
  }

  function authAttack(): HostileRequest {
    const body = JSON.stringify(validReport());
    switch (int(6)) {
      case 0:
        return reportPost(body, [401], { cls: 'auth:missing', headers: { ...json } });
      case 1:
        return reportPost(body, [401], {
          cls: 'auth:unknown-token',
          headers: { ...json, ...auth(`ct_${'A'.repeat(20)}${uid().replace(/[^A-Za-z0-9]/g, '')}`) },
        });
      case 2:
        return reportPost(body, [401], {
          cls: 'auth:malformed',
          headers: {
            ...json,
            authorization: pick(['Bearer', 'Basic abc', 'Bearer  x y', `Bearer ${'z'.repeat(5000)}`]),
          },
        });
      case 3:
        return reportPost(body, [403], { cls: 'auth:wrong-scope', headers: { ...json, ...auth(tokens.reader) } });
      case 4:
        return {
          cls: 'auth:events-anonymous',
          service: 'query',
          method: 'GET',
          path: '/v1/events',
          headers: {},
          expect: [401],
        };
      default:
        return {
          cls: 'auth:metrics-writer',
          service: 'ingest',
          method: 'POST',
          path: '/v1/metrics',
          headers: { ...json, ...auth(tokens.writer) },
          body: JSON.stringify({ metric: 'killed', label: 'Killed', unit: 'persons', aggregation: 'cumulative' }),
          expect: [403],
        };
    }
  }

  function idempotencyAttack(): HostileRequest {
    const keyed = (key: string) => ({ ...json, ...auth(tokens.writer), 'idempotency-key': key });
    switch (int(3)) {
      case 0:
        return reportPost(JSON.stringify(validReport()), [400], {
          cls: 'idempotency:bad-key',
          headers: keyed(pick(['k'.repeat(129), 'with space', 'tab\tkey'])),
          fieldPath: 'headers:/idempotency-key',
        });
      case 1:
        // The key of a report posted before, with another body.
        return reportPost(JSON.stringify(validReport()), [409], {
          cls: 'idempotency:key-reused',
          headers: keyed(known.conflictKey),
        });
      default:
        return reportPost(known.conflictBody, [200], { cls: 'idempotency:retry', headers: keyed(known.conflictKey) });
    }
  }

  function claimMutation(): HostileRequest {
    const id = known.claimIds.length > 0 && rand() < 0.8 ? pick(known.claimIds) : `clm_${'0'.repeat(23)}${int(10)}`;
    const attacks: (() => HostileRequest)[] = [
      () => ({
        cls: 'correction:bad-date',
        service: 'ingest',
        method: 'POST',
        path: `/v1/claims/${id}/corrections`,
        headers: { ...json, ...auth(tokens.writer) },
        body: JSON.stringify({ changes: { statedAt: pick(BAD_DATES) }, reason: 'fix' }),
        expect: [400],
        fieldPath: '/changes/statedAt',
      }),
      () => ({
        cls: 'correction:bad-value',
        service: 'ingest',
        method: 'POST',
        path: `/v1/claims/${id}/corrections`,
        headers: { ...json, ...auth(tokens.writer) },
        body: JSON.stringify({ changes: { value: { kind: 'range', low: 9, high: 1 } }, reason: 'fix' }),
        expect: [400],
        fieldPath: '/changes/value',
      }),
      () => ({
        cls: 'correction:valid',
        service: 'ingest',
        method: 'POST',
        path: `/v1/claims/${id}/corrections`,
        headers: { ...json, ...auth(tokens.writer) },
        body: JSON.stringify({ changes: { quote: `corrected ${uid()}` }, reason: 'transcription' }),
        expect: [202, 404, 409],
      }),
      () => ({
        cls: 'retraction:valid-or-twice',
        service: 'ingest',
        method: 'POST',
        path: `/v1/claims/${id}/retractions`,
        headers: { ...json, ...auth(tokens.writer) },
        body: JSON.stringify({ reason: 'withdrawn', by: pick(['source', 'publisher', 'editor']) }),
        expect: [202, 404, 409],
      }),
      () => ({
        cls: 'retraction:bad-by',
        service: 'ingest',
        method: 'POST',
        path: `/v1/claims/${id}/retractions`,
        headers: { ...json, ...auth(tokens.writer) },
        body: JSON.stringify({ reason: 'withdrawn', by: 'everyone' }),
        expect: [400],
        fieldPath: '/by',
      }),
      () => ({
        cls: 'claim-path:bad-id',
        service: 'ingest',
        method: 'POST',
        path: `/v1/claims/${encodeURIComponent(pick(['clm_x', 'clm_\u0000', '../../etc', 'constructor']))}/corrections`,
        headers: { ...json, ...auth(tokens.writer) },
        body: JSON.stringify({ changes: { quote: 'q' }, reason: 'r' }),
        expect: [400, 404],
      }),
    ];
    return pick(attacks)();
  }

  function metricAttack(): HostileRequest {
    const [body, fieldPath] = pick<[Record<string, unknown>, string | undefined]>([
      [{ metric: 'Bad Name', label: 'x', unit: 'persons', aggregation: 'cumulative' }, '/metric'],
      [{ metric: 'fuzz_metric', label: 'x', unit: 'persons', aggregation: 'sometimes' }, '/aggregation'],
      [{ metric: 'fuzz_metric', label: 'x\u0000', unit: 'persons', aggregation: 'cumulative' }, '/label'],
      [
        { metric: 'fuzz_metric', label: 'x', unit: 'persons', aggregation: 'cumulative', composedOf: 'killed' },
        '/composedOf',
      ],
      // A composite's parts: repeated, or never defined.
      [
        {
          metric: 'fuzz_total',
          label: 'x',
          unit: 'persons',
          aggregation: 'cumulative',
          composedOf: ['killed', 'killed'],
        },
        '/composedOf/1',
      ],
      [
        {
          metric: 'fuzz_total',
          label: 'x',
          unit: 'persons',
          aggregation: 'cumulative',
          composedOf: [`undefined_${int(1e6)}`],
        },
        undefined,
      ],
    ]);
    return {
      cls: 'metric:invalid',
      service: 'ingest',
      method: 'POST',
      path: '/v1/metrics',
      headers: { ...json, ...auth(tokens.admin) },
      body: JSON.stringify(body),
      expect: [400],
      ...(fieldPath === undefined ? {} : { fieldPath }),
    };
  }

  function topicAttack(): HostileRequest {
    const [body, fieldPath, expect] = pick<[unknown, string | undefined, number[]]>([
      [{ topic: 'Bad Topic', label: 'x' }, '/topic', [400]],
      [{ topic: 'fuzz-topic', label: 'x\u202e' }, '/label', [400]],
      [{ topic: 'fuzz-topic', label: 'l'.repeat(201) }, '/label', [400]],
      [{ topic: 'fuzz-topic', label: 'x', bogus: 1 }, '/bogus', [400]],
      [{ topic: 'fuzz-topic' }, '/label', [400]],
      // A valid definition: defined once, then the same body again is a duplicate.
      [{ topic: 'fuzz-topic', label: 'Fuzz topic' }, undefined, [200, 202]],
    ]);
    return {
      cls: 'topic:define',
      service: 'ingest',
      method: 'POST',
      path: '/v1/topics',
      headers: { ...json, ...auth(rand() < 0.9 ? tokens.admin : tokens.writer) },
      body: JSON.stringify(body),
      expect: [...expect, 403],
      ...(fieldPath === undefined ? {} : { fieldPath }),
    };
  }

  function queryAttack(): HostileRequest {
    const q = (path: string, expect: readonly number[], cls: string, fieldPath?: string): HostileRequest => ({
      cls,
      service: 'query',
      method: 'GET',
      path,
      headers: rand() < 0.5 ? auth(tokens.reader) : {},
      expect,
      ...(fieldPath === undefined ? {} : { fieldPath }),
    });
    const topic = pick(TOPICS);
    const history = `/v1/topics/${topic}/metrics/${pick(METRICS)}/history`;
    const attacks: (() => HostileRequest)[] = [
      () =>
        q(`/v1/topics?knownAt=${encodeURIComponent(pick(BAD_DATES))}`, [400], 'query:bad-knownAt', 'query:/knownAt'),
      () => {
        const p = pick(['from', 'to']);
        return q(`${history}?${p}=${encodeURIComponent(pick(BAD_DATES))}`, [400], 'query:bad-from-to', `query:/${p}`);
      },
      () =>
        q(
          `${history}?source=${pick(['a%00b', '%00', 'UPPER', 'x'.repeat(65)])}`,
          [400],
          'query:bad-source',
          'query:/source',
        ),
      () => q(`/v1/events?topic=${pick(['a%00b', '%00'])}`, [400, 401, 403], 'query:nul-topic'),
      () => q(`${history}?minSeq=${pick(['-1', 'x', '1e999', '9007199254740993'])}`, [400, 503], 'query:bad-minSeq'),
      () => q(`/v1/topics?bogus=1`, [400], 'query:unknown-param', 'query:/bogus'),
      () =>
        q(
          `/v1/topics/${pick(['UPPER', 'a%00', 'x'.repeat(65), '%E2%80%AE'])}/summary`,
          [400, 404],
          'query:bad-topic-path',
        ),
      () =>
        q(
          `/v1/claims/${pick(['clm_1', 'clm_%00', 'constructor', 'x'.repeat(200)])}`,
          [400, 404, 414],
          'query:bad-claim-id',
        ),
      () =>
        q(
          `/assets/${pick(['constructor', '__proto__', 'toString', '..%2F..%2Fpackage.json', 'hasOwnProperty', 'nope.js'])}`,
          [404],
          'query:asset',
        ),
      () =>
        q(
          `/v1/topics/${topic}/timeline?knownAt=${encodeURIComponent(pick(BAD_DATES))}`,
          [400],
          'query:timeline-knownAt',
          'query:/knownAt',
        ),
      () =>
        q(
          `${history}?includeRetracted=${pick(['yes', '2', ''])}`,
          [400],
          'query:bad-boolean',
          'query:/includeRetracted',
        ),
      () =>
        q(
          `/v1/claims/${known.claimIds.length ? pick(known.claimIds) : 'clm_000000000000000000000000'}?knownAt=2025-01-01T00:00:00Z`,
          [200, 404],
          'query:claim-past',
        ),
      () => q(`${history}?from=0001&to=9999-12-30`, [200], 'query:edge-range'),
      () =>
        q(
          `/v1/sources/${pick(['UPPER', 'a%00', 'x'.repeat(65), '%E2%80%AE', 'constructor', '__proto__'])}`,
          [400, 404],
          'query:bad-source-path',
        ),
      () => {
        const [param, value] = pick([
          ['limit', '0'],
          ['limit', '1001'],
          ['cursor', '%00'],
          // A cursor of another endpoint (the topics list's), well formed.
          ['cursor', 'eyJrIjoidG9waWNzIiwiYWZ0ZXIiOiJhIn0'],
        ] as const);
        return q(`/v1/sources?${param}=${value}`, [400], 'query:sources-page', `query:/${param}`);
      },
      () =>
        q(
          `/v1/sources/${pick(['kr-nis', 'nobody'])}?${pick(['knownAt=2025-01-01T00:00:00Z', 'includeRetracted=maybe', 'cursor=eyJrIjoic291cmNlcyIsImFmdGVyIjoiYSJ9'])}`,
          [200, 400, 404],
          'query:source-read',
        ),
      () => q(`/nope/${uid()}`, [404], 'query:unknown-route'),
    ];
    return pick(attacks)();
  }

  function transportAttack(): HostileRequest {
    const service: Service = rand() < 0.5 ? 'ingest' : 'query';
    switch (int(3)) {
      case 0:
        return {
          cls: 'transport:huge-header',
          service,
          method: 'GET',
          path: '/livez',
          headers: { 'x-big': 'b'.repeat(20_000) },
          expect: [431],
        };
      case 1:
        return {
          cls: 'transport:long-url',
          service,
          method: 'GET',
          path: `/livez?x=${'u'.repeat(20_000)}`,
          expect: [414, 431],
          headers: {},
        };
      default: {
        const path = pick(['/livez', '/v1/topics', '/openapi.json']);
        // Ingest takes POST /v1/topics (scope admin): without a token, 401.
        const taken = service === 'ingest' && path === '/v1/topics';
        return {
          cls: 'transport:method',
          service,
          method: 'POST',
          path,
          headers: { ...json },
          body: '{}',
          expect: taken ? [401] : [404, 405],
        };
      }
    }
  }

  function validWrite(): HostileRequest {
    return reportPost(JSON.stringify(validReport()), [202, 200], { cls: 'valid:report' });
  }

  return {
    validReport,
    next(): HostileRequest {
      const r = rand();
      if (r < 0.12) return validWrite();
      if (r < 0.42) return fieldAttack();
      if (r < 0.52) return encodingAttack();
      if (r < 0.6) return authAttack();
      if (r < 0.64) return idempotencyAttack();
      if (r < 0.74) return claimMutation();
      if (r < 0.755) return metricAttack();
      if (r < 0.77) return topicAttack();
      if (r < 0.97) return queryAttack();
      return transportAttack();
    },
  };
}
