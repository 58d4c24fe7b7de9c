import type { NormalisationRule } from '@claimtrail/shared/events';
import type { FoldInput, FoldOutput, FoldState, VersionClose } from './fold-rows.ts';

/** The rows a batch writes, while it is being folded (FoldOutput without the state after it). */
export type FoldRows = Omit<FoldOutput, 'after'>;

/**
 * What one batch's fold works on: the state of the keys it touches (copies of the input's, so
 * the input stays as it was read), the rows it writes, and the rule values are normalised with.
 */
export interface FoldContext extends FoldState {
  rule: NormalisationRule;
  out: FoldRows;
  /** Ends a version: in memory when this batch made it, else by an update of the stored row (`stored`). */
  closeVersion(
    prev: { seq_from: number; seq_to: number | null; known_to: string | null },
    seq: number,
    knownAt: string,
    stored: (c: VersionClose) => void,
  ): void;
  /** A new current version: made in this batch (so a later event of the batch closes it in memory). */
  addVersion<V extends object>(next: V, current: Map<string, V>, key: string, rows: V[]): void;
}

export function createFoldContext(input: FoldInput, rule: NormalisationRule): FoldContext {
  // Versions created in this batch, so a later event in the same batch closes them in memory.
  const fresh = new Set<object>();
  return {
    rule,
    out: {
      lastSeq: input.lastSeq,
      chainHash: input.chainHash,
      knownAt: input.knownAt,
      applied: 0,
      ledger: [],
      repeats: [],
      deadLetters: [],
      reports: [],
      claimVersions: [],
      claimCloses: [],
      sourceVersions: [],
      sourceCloses: [],
      metricVersions: [],
      metricCloses: [],
      citations: [],
      revisions: [],
      topics: [],
    },
    claims: new Map(input.claims),
    sources: new Map(input.sources),
    metrics: new Map(input.metrics),
    parked: new Map(input.parked),
    seenEventIds: new Map(input.seenEventIds),
    reports: new Set(input.reports),
    closeVersion(prev, seq, knownAt, stored) {
      if (fresh.has(prev)) {
        prev.seq_to = seq;
        prev.known_to = knownAt;
      } else stored({ seq_from: prev.seq_from, seq_to: seq, known_to: knownAt });
    },
    addVersion(next, current, key, rows) {
      fresh.add(next);
      current.set(key, next);
      rows.push(next);
    },
  };
}
