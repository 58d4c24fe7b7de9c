import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chainHash, claimIdOf, GENESIS_HASH, idempotencyKeyOf, reportIdOf, sha256Hex, uuidv7 } from './identity.ts';

describe('claim identity (echo detection)', () => {
  const base = {
    topic: 'dprk-troops-in-russia',
    metric: 'killed',
    sourceId: 'kr-nis',
    statedAt: '2025-01',
    value: { kind: 'approx', value: 300 } as const,
  };
  it('is the same for the same source, figure, metric, topic and stated time', () => {
    expect(claimIdOf(base)).toBe(claimIdOf({ ...base }));
    expect(claimIdOf(base)).toMatch(/^clm_[0-9a-f]{24}$/);
  });
  it('is the id stored events already carry (echo detection of new reports depends on it)', () => {
    // Known answers, computed by the code that wrote the first streams: any change to claimIdOf,
    // claimIdentity or canonicalJson that moved them would stop new reports finding their echoes.
    expect(claimIdOf(base)).toBe('clm_de0f962410e51707e4fca7f3');
    expect(
      claimIdOf({ ...base, statedAt: '2025-01-10T14:00:00+02:00', value: { kind: 'range', low: 1, high: 2 } }),
    ).toBe('clm_588a43e1969462b3b3e5f99e');
    const body = {
      report: { url: 'https://x.org/1', publisher: 'P', publishedAt: '2025-03-01' },
      claims: [
        { topic: 't', metric: 'm', value: { kind: 'range', low: 1, high: 2 }, unit: 'persons', source: { id: 's' } },
      ],
    };
    expect(idempotencyKeyOf(undefined, body)).toBe(
      'body:48f923e2f78fd1f0b07a22db5e8fb4d3735061b52c98b4a535b8babb3573fad6',
    );
  });
  it('treats the same instant written with different offsets as one time', () => {
    const a = claimIdOf({ ...base, statedAt: '2025-01-10T12:00:00Z' });
    expect(claimIdOf({ ...base, statedAt: '2025-01-10T14:00:00+02:00' })).toBe(a);
  });
  it.each([
    ['topic', { topic: 'other' }],
    ['metric', { metric: 'wounded' }],
    ['source', { sourceId: 'us-government' }],
    ['stated time', { statedAt: '2025-02' }],
    ['precision', { statedAt: '2025-01-01' }],
    ['value', { value: { kind: 'approx', value: 301 } as const }],
    ['value kind', { value: { kind: 'exact', value: 300 } as const }],
  ])('differs when the %s differs', (_n, change) => {
    expect(claimIdOf({ ...base, ...change })).not.toBe(claimIdOf(base));
  });

  it('keeps the id of a claim whose period is the default one, given or not', () => {
    const old = 'clm_de0f962410e51707e4fca7f3';
    expect(claimIdOf({ ...base, validFrom: '2025-01', validTo: '2025-01' })).toBe(old);
    expect(claimIdOf({ ...base, validFrom: '2025-01' })).toBe(old);
    // The same month written as its first instant is another precision: another period.
    expect(claimIdOf({ ...base, validFrom: '2025-01-01T00:00:00Z' })).not.toBe(old);
  });
  it('tells apart claims that differ only in the period they describe', () => {
    const october = claimIdOf({ ...base, validFrom: '2024-10', validTo: '2024-10' });
    const november = claimIdOf({ ...base, validFrom: '2024-11', validTo: '2024-11' });
    expect(october).not.toBe(november);
    expect(october).not.toBe(claimIdOf(base));
    expect(claimIdOf({ ...base, validFrom: '2024-10', validTo: '2025-01' })).not.toBe(
      claimIdOf({ ...base, validFrom: '2024-11', validTo: '2025-01' }),
    );
    // Known answers: these ids are stored from now on.
    expect(october).toBe('clm_511c597ea4535062deccda44');
    expect(claimIdOf({ ...base, validFrom: '2024-10-01T00:00:00+02:00', validTo: '2025-01' })).toBe(
      claimIdOf({ ...base, validFrom: '2024-09-30T22:00:00Z', validTo: '2025-01' }),
    );
  });
});

describe('idempotency keys', () => {
  it('prefers the header, else hashes the canonical body (key order does not matter)', () => {
    expect(idempotencyKeyOf('abc', { a: 1 })).toBe('key:abc');
    expect(idempotencyKeyOf(undefined, { a: 1, b: 2 })).toBe(idempotencyKeyOf(undefined, { b: 2, a: 1 }));
    expect(idempotencyKeyOf(undefined, { a: 1 })).not.toBe(idempotencyKeyOf(undefined, { a: 2 }));
    expect(reportIdOf('key:abc')).toMatch(/^rpt_[0-9a-f]{24}$/);
  });
});

describe('uuidv7', () => {
  it('carries the time and is deterministic with a seed', () => {
    const ms = Date.parse('2025-02-21T00:00:00Z');
    const a = uuidv7(ms, 'seed');
    expect(a).toBe(uuidv7(ms, 'seed'));
    expect(a).not.toBe(uuidv7(ms, 'other'));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(a.replaceAll('-', '').slice(0, 12), 16)).toBe(ms);
    expect(uuidv7(ms)).not.toBe(uuidv7(ms));
  });
  it('is the id its byte-level definition gives, which stored events carry', () => {
    // The definition: sha256(seed)'s first 16 bytes, the time in bytes 0-5, version 7, variant 10.
    const reference = (ms: number, seed: string) => {
      const b = createHash('sha256').update(seed).digest().subarray(0, 16);
      b.writeUIntBE(ms, 0, 6);
      b[6] = (b[6]! & 0x0f) | 0x70;
      b[8] = (b[8]! & 0x3f) | 0x80;
      const h = b.toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    };
    for (let i = 0; i < 2000; i += 1) {
      const ms = Math.floor(((i * 2654435761) % 2 ** 32) * 2 ** 16 + i);
      const seed = `body:${sha256Hex(String(i))}\n${1000 + (i % 500)}`;
      expect(uuidv7(ms, seed)).toBe(reference(ms, seed));
    }
    // Known answers, from the code that wrote the first streams.
    expect(uuidv7(Date.parse('2025-02-21T00:00:00Z'), 'seed')).toBe('019525cd-d000-70ca-834c-ffc8b59b23ad');
    expect(uuidv7(0, 'x')).toBe('00000000-0000-7044-8162-7ca9fbac32f5');
    expect(uuidv7(2 ** 48 - 1, 'body:abc\n1007')).toBe('ffffffff-ffff-79fc-bb01-1d61fc464a34');
    expect(() => uuidv7(2 ** 48, 'x')).toThrow(RangeError);
    expect(() => uuidv7(-1, 'x')).toThrow(RangeError);
  });
});

describe('chain hash', () => {
  it('is sha256(prev ‖ canonical event) and depends on order', () => {
    const e1 = '{"b":1,"a":2}';
    expect(chainHash(GENESIS_HASH, e1)).toBe(sha256Hex(`${GENESIS_HASH}{"a":2,"b":1}`));
    const h1 = chainHash(GENESIS_HASH, '{"x":1}');
    const h2 = chainHash(h1, '{"x":2}');
    const swapped = chainHash(chainHash(GENESIS_HASH, '{"x":2}'), '{"x":1}');
    expect(h2).not.toBe(swapped);
  });
});
