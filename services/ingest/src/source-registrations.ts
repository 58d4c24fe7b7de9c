import type { EventData, ViaHop } from '@claimtrail/shared/events';

type Registration = EventData<'SourceRegistered'>;

/** A source as a request describes it: a claim's or a correction's `source`. */
export interface DescribedSource {
  id: string;
  name?: string | undefined;
  kind?: Registration['kind'] | undefined;
  country?: string | undefined;
}

/**
 * What a request says about sources, merged by id in the order the request says it (a later
 * mention adds to, or replaces a field of, an earlier one): each `source` that gives a name, kind
 * or country, and each hop of an attribution chain that gives a name. Sources described by
 * nothing but their id register nothing.
 */
export function createSourceRegistrations() {
  const sources = new Map<string, Registration>();
  const add = (id: string, name: string | undefined, kind?: Registration['kind'], country?: string) => {
    if (name === undefined && kind === undefined && country === undefined) return;
    const prev = sources.get(id);
    const c = country ?? prev?.country;
    const k = kind ?? prev?.kind;
    const n = name ?? prev?.name;
    // Keys in canonical (sorted) order, as the envelope's are.
    sources.set(id, {
      ...(c === undefined ? {} : { country: c }),
      ...(k === undefined ? {} : { kind: k }),
      ...(n === undefined ? {} : { name: n }),
      sourceId: id,
    });
  };
  return {
    source(s: DescribedSource): void {
      add(s.id, s.name, s.kind, s.country);
    },
    via(hops: readonly ViaHop[] | undefined): void {
      for (const h of hops ?? []) add(h.id, h.name);
    },
    list(): Registration[] {
      return [...sources.values()];
    },
  };
}

/** A hop with its keys in canonical (sorted) order, so the event is written with one JSON.stringify. */
export function canonicalHop(h: ViaHop): ViaHop {
  return h.name === undefined ? { id: h.id, role: h.role } : { id: h.id, name: h.name, role: h.role };
}
