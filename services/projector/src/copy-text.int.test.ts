import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { migrateReadModel } from '@claimtrail/shared/db';
import { canonicalJson } from '@claimtrail/shared/events';
import { uuidv7 } from '@claimtrail/shared/identity';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { copyBuffer, copyField } from './copy-text.ts';
import { foldBatch } from './fold.ts';
import type { StreamMessage } from './stream-message.ts';
import { poolOf } from '@claimtrail/shared/db';
import { createProjectionStore } from './projection-store.ts';
import { arrayLiteral } from './state-read.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv('copytext');
});
afterAll(async () => {
  await env?.cleanup();
});

describe('COPY text', () => {
  it('escapes what the text format gives a meaning to, and nothing else', () => {
    expect(copyField(null)).toBe('\\N');
    expect(copyField(undefined)).toBe('\\N');
    expect(copyField('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyField('\\N')).toBe('\\\\N'); // the text "\N", not NULL
    expect(copyField('«около 4 000» 😀 "x"')).toBe('«около 4 000» 😀 "x"');
    expect(copyField(8408.45)).toBe('8408.45');
    expect(copyField(false)).toBe('f');
    expect(copyField({ kind: 'approx', value: 1, q: 'a\tb' })).toBe('{"kind":"approx","value":1,"q":"a\\\\tb"}');
    expect(() => copyField(Number.NaN)).toThrow(RangeError);
    expect(
      copyBuffer(
        [
          { a: 1, b: 'x' },
          { a: null, b: 'y\n' },
        ],
        ['b', 'a'],
      ).toString('utf8'),
    ).toBe('x\t1\ny\\n\t\\N\n');
  });

  it('writes every row as the lines of copyField would be, for random values of every kind', () => {
    // Seeded, so a failure repeats. Short and long strings (the writer treats fields up to 48
    // code units byte by byte), the escaped characters at any place, one- to four-byte UTF-8.
    let seed = 20261127;
    const rand = (n: number) => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
    };
    const alphabet = ['a', 'Z', '0', '-', ' ', '\\', '\t', '\n', '\r', 'é', '€', '😀', '"', 'N', '\u007f', '\u0080'];
    const value = (): unknown => {
      switch (rand(7)) {
        case 0:
          return null;
        case 1:
          return rand(2) === 0;
        case 2:
          return rand(1000) - 500 + rand(100) / 8;
        case 3:
          return { q: value(), n: rand(10) };
        default: {
          const len = [0, 1, 5, 47, 48, 49, 64, 300][rand(8)]!;
          return Array.from({ length: len }, () => alphabet[rand(alphabet.length)]).join('');
        }
      }
    };
    for (let round = 0; round < 200; round += 1) {
      const rows = Array.from({ length: 1 + rand(40) }, () => ({ a: value(), b: value(), c: value() }));
      const expected = rows.map((r) => `${copyField(r.a)}\t${copyField(r.b)}\t${copyField(r.c)}\n`).join('');
      expect(copyBuffer(rows, ['a', 'b', 'c']).toString('utf8')).toBe(expected);
    }
  });

  it('encodes rows of any size and script into bytes, growing its buffer as it goes', () => {
    // Far beyond the first 64 KB, in one-, two-, three- and four-byte UTF-8 characters.
    const rows = Array.from({ length: 3000 }, (_, i) => ({ n: i, s: `a é € 😀 ${'x'.repeat(i % 97)}\t${i}` }));
    const bytes = copyBuffer(rows, ['n', 's']);
    const expected = rows.map((r) => `${r.n}\t${r.s.replace('\t', '\\t')}\n`).join('');
    expect(bytes.length).toBeGreaterThan(64 * 1024);
    expect(bytes.length).toBe(Buffer.byteLength(expected));
    expect(bytes.toString('utf8')).toBe(expected);
    expect(copyBuffer([], ['n']).length).toBe(0);
  });

  it('stores strings with tabs, newlines, backslashes and non-ASCII exactly as folded', async () => {
    expect((await migrateReadModel(env.db, 'copy_rm')).error).toBeUndefined();
    const store = createProjectionStore(env.db, 'copy_rm');
    const quote = 'line one\nline\ttwo \\ back\\slash \\N «около 4 000» 😀 "quoted"\r\n';
    const events = [
      {
        type: 'ReportSubmitted',
        data: {
          reportId: 'rpt_000000000000000000000001',
          url: 'https://example.org/a?b=c\\d',
          publisher: 'Wire\tService',
          title: 'Title\nwith newline',
          publishedAt: '2025-02',
          claimCount: 1,
        },
      },
      {
        type: 'ClaimRecorded',
        data: {
          claimId: 'clm_000000000000000000000001',
          reportId: 'rpt_000000000000000000000001',
          topic: 't',
          metric: 'killed',
          value: { kind: 'range', low: 1.5, high: 2000000 },
          unit: 'persons',
          sourceId: 's',
          via: [{ id: 'relay-one', role: 'relay' }],
          statedAt: '2025-02-03',
          validFrom: '2025-01',
          validTo: '2025-02-03',
          quote,
        },
      },
    ];
    const messages: StreamMessage[] = events.map((e, i) => ({
      seq: i + 1,
      subject: `s.${i}`,
      time: '2026-01-01T00:00:00.000Z',
      payload: canonicalJson({
        eventId: uuidv7(Date.UTC(2026, 0, 1) + i, `copy-${i}`),
        type: e.type,
        version: 1,
        recordedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        actor: 'tester\twith tab',
        requestId: `r${i}`,
        data: e.data,
      }),
    }));
    const out = await store.applyBatch(messages, (input) => foldBatch(input, messages, 'approx-5pct@1'));
    expect(out.deadLetters).toEqual([]);

    const ledger = await sql<{ payload: string; actor: string }>`
      select payload, actor from copy_rm.event_ledger order by seq`.execute(env.db);
    expect(ledger.rows.map((r) => r.payload)).toEqual(messages.map((m) => m.payload));
    expect(ledger.rows[0]!.actor).toBe('tester\twith tab');

    const v = await sql<{ quote: string; value: unknown; via: unknown; low: string; high: string }>`
      select quote, value, via, low::text, high::text from copy_rm.claim_versions`.execute(env.db);
    expect(v.rows).toEqual([
      {
        quote,
        value: { kind: 'range', low: 1.5, high: 2000000 },
        via: [{ id: 'relay-one', role: 'relay' }],
        low: String(out.claimVersions[0]!.low),
        high: String(out.claimVersions[0]!.high),
      },
    ]);
    const r = await sql<{ url: string; publisher: string; title: string }>`
      select url, publisher, title from copy_rm.reports`.execute(env.db);
    expect(r.rows).toEqual([
      { url: 'https://example.org/a?b=c\\d', publisher: 'Wire\tService', title: 'Title\nwith newline' },
    ]);
    const c = await sql<{ quote: string; echo: boolean }>`select quote, echo from copy_rm.claim_citations`.execute(
      env.db,
    );
    expect(c.rows).toEqual([{ quote, echo: false }]);
  });
});

describe('arrayLiteral', () => {
  it('gives Postgres back exactly the strings it was given, quotes and backslashes too', async () => {
    const pool = poolOf(env.db);
    const roundTrip = async (items: string[]) =>
      (await pool.query<{ a: string[] }>('select $1::text[] as a', [arrayLiteral(items)])).rows[0]!.a;
    const plain = ['clm_000000000000000000000001', 'source-1', '', 'NULL', 'null', ' spaced ', 'a,b', '{x}', 'é 😀'];
    expect(arrayLiteral(plain)).toBe(`{"${plain.join('","')}"}`);
    expect(await roundTrip(plain)).toEqual(plain);
    const special = ['a"b', 'c\\d', '\\"', '"', 'x'];
    expect(await roundTrip(special)).toEqual(special);
    expect(await roundTrip([])).toEqual([]);
    expect(arrayLiteral(new Set(['a', 'b']))).toBe('{"a","b"}');
    const uuids = ['0190a0b0-0000-7000-8000-000000000001'];
    expect((await pool.query<{ a: string[] }>('select $1::uuid[] as a', [arrayLiteral(uuids)])).rows[0]!.a).toEqual(
      uuids,
    );
  });
});
