import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../events/canonical-json.ts';
import { eventSchemas } from '../events/schemas.ts';
import { decodeEvent } from '../events/upcast.ts';
import { syntheticEvents, type SyntheticEventsOptions, type SyntheticFields } from './synthetic-events.ts';

const digest = (o: SyntheticEventsOptions) => {
  const h = createHash('sha256');
  for (const e of syntheticEvents(o)) h.update(`${e.subject}\n${e.payload}\n`);
  return h.digest('hex');
};

type Data = Record<string, unknown>;
const parsed = (o: SyntheticEventsOptions) =>
  [...syntheticEvents(o)].map((e) => ({ ...e, env: JSON.parse(e.payload) as { data: Data; recordedAt: string } }));

/** A stream like the fields bench's: every value kind, a preamble, every kind of claim event. */
const streamOptions: SyntheticEventsOptions = {
  count: 600,
  prefix: 'ct.fields',
  seed: 'fields',
  preamble: true,
  mix: { corrected: 0.05, cited: 0.05, retracted: 0.02, renamed: 0.02 },
  valueKinds: ['approx', 'range', 'exact', 'at_least'],
};
const ALL: SyntheticFields = { best: true, qualifiers: true, note: true, viaNames: true, reportKind: true };

describe('syntheticEvents', () => {
  // Digests of the events as generated before claim fields could be asked for: without `fields`
  // the same seed must give byte-identical events, or every earlier bench figure would be of
  // another stream.
  it('gives the same bytes as before for the same options when no fields are asked for', () => {
    expect(digest({ count: 400, prefix: 'ct' })).toBe(
      '17d92ca76bb2055cfa112bcf6510ce9134e8c87d975db6705702615cf4387b5d',
    );
    expect(
      digest({
        count: 400,
        prefix: 'ct',
        seed: 'abc',
        preamble: true,
        mix: { corrected: 0.1, cited: 0.1, retracted: 0.05, renamed: 0.05 },
        focus: { topic: 'focus', metric: 'killed', sources: 5, every: 7 },
      }),
    ).toBe('f02c39c2e05eaad0ec478ebf07cc11fbe4c7c1d1a6afc9bd2744685ccfc38e58');
    expect(
      digest({
        count: 300,
        prefix: 'ctb.x',
        seed: 'run1',
        stepMs: 10,
        actor: 'bench',
        sources: 200,
        preamble: true,
        valueKinds: ['approx', 'range'],
        quote: (_k, v) => `about ${v} people`,
        fields: {},
      }),
    ).toBe('3eb91ffb7de7ff14ba59c35c8aa85dcb198f8888a235898e4fa14b90d4c5971e');
  });

  it('writes every field as a valid event of the current version, in canonical JSON', () => {
    const events = parsed({ ...streamOptions, fields: ALL });
    for (const e of events) {
      const decoded = decodeEvent(JSON.parse(e.payload));
      expect(decoded, e.payload).toMatchObject({ ok: true });
      expect((JSON.parse(e.payload) as { version: number }).version).toBe(eventSchemas[e.type].version);
      expect(canonicalJson(JSON.parse(e.payload))).toBe(e.payload);
    }
    const recorded = events.filter((e) => e.type === 'ClaimRecorded').map((e) => e.env.data);
    expect(recorded.length).toBeGreaterThan(400);
    for (const d of recorded) {
      expect(['high', 'moderate', 'low']).toContain(d.confidence);
      expect(typeof d.likelihood).toBe('string');
      expect((d.note as string).length).toBeGreaterThanOrEqual(50);
      expect((d.note as string).length).toBeLessThanOrEqual(80);
      expect(d.via).toEqual([{ id: 'wire-service', name: 'Wire Service', role: 'relay' }]);
      const v = d.value as { kind: string; low?: number; best?: number; high?: number };
      if (v.kind === 'range') {
        expect(v.best).toBeGreaterThanOrEqual(v.low!);
        expect(v.best).toBeLessThanOrEqual(v.high!);
      } else expect(v.best).toBeUndefined();
    }
    expect(recorded.filter((d) => (d.value as { kind: string }).kind === 'range').length).toBeGreaterThan(50);
    const reports = events.filter((e) => e.type === 'ReportSubmitted');
    for (const r of reports) expect(typeof r.env.data.kind).toBe('string');
  });

  it('adds the fields to the same claims: without them each event is the one the base stream holds', () => {
    const base = parsed(streamOptions);
    const each: SyntheticFields[] = [{ best: true }, { qualifiers: true }, { note: true }, { reportKind: true }, ALL];
    for (const fields of each) {
      // The hop's registration of each report (viaNames) is the one event base has not.
      const withFields = parsed({ ...streamOptions, fields }).filter(
        (e) => !e.subject.endsWith('.source.wire-service'),
      );
      expect(withFields.map((e) => e.subject)).toEqual(base.map((e) => e.subject));
      withFields.forEach((e, i) => {
        const d = { ...e.env.data };
        delete d.confidence;
        delete d.likelihood;
        delete d.note;
        if (e.type === 'ReportSubmitted') delete d.kind;
        if (e.type === 'ClaimRecorded') {
          const { best: _best, ...value } = d.value as Data;
          d.value = value;
          d.via = (d.via as Data[]).map(({ name: _name, ...hop }) => hop);
        }
        expect({ ...e.env, data: d }).toEqual(base[i]!.env);
      });
    }
  });

  it('registers the named hop once a report, right after the report and at its instant (as ingest does)', () => {
    const base = parsed(streamOptions);
    const named = parsed({ ...streamOptions, fields: { viaNames: true } });
    const reports = base.filter((e) => e.type === 'ReportSubmitted').length;
    expect(named.length).toBe(base.length + reports);
    named.forEach((e, i) => {
      if (e.type !== 'ReportSubmitted') return;
      const next = named[i + 1]!;
      expect(next.type).toBe('SourceRegistered');
      expect(next.env.data).toEqual({ name: 'Wire Service', sourceId: 'wire-service' });
      expect(next.env.recordedAt).toBe(e.env.recordedAt);
    });
    expect(new Set(named.map((e) => (JSON.parse(e.payload) as { eventId: string }).eventId)).size).toBe(named.length);
  });
});
