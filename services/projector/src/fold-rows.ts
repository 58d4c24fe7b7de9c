import type { ClaimValue } from '@claimtrail/shared/events';
import type { RowOf } from '@claimtrail/shared/db';

/** A claim's version row; the registry's row type with the value and status as the fold knows them. */
export type ClaimVersion = Omit<RowOf<'claim_versions'>, 'value' | 'status'> & {
  value: ClaimValue;
  status: 'active' | 'corrected' | 'retracted';
};
export type SourceVersion = RowOf<'sources'>;
export type MetricVersion = RowOf<'metrics'>;

/** Ends a version row already stored: the key, the seq it became current at, and when it ended. */
export interface VersionClose {
  seq_from: number;
  seq_to: number;
  known_to: string;
}

/**
 * State of the keys a batch names: what the fold reads before a batch (from the database, with
 * the batches not yet committed laid over it) and what it knows after it (`FoldOutput.after`).
 */
export interface FoldState {
  /** Current version of each claim (absent: unknown claim). */
  claims: Map<string, ClaimVersion>;
  sources: Map<string, SourceVersion>;
  metrics: Map<string, MetricVersion>;
  /** Claims with an earlier parked event, and that event's seq. */
  parked: Map<string, number>;
  /** Event ids already in the ledger, with their seq. */
  seenEventIds: Map<string, number>;
  reports: Set<string>;
}

/** What the fold needs to know of the read models before a batch: the checkpoint and the state. */
export interface FoldInput extends FoldState {
  lastSeq: number;
  chainHash: string;
  knownAt: string | null;
  /**
   * Events Postgres refused to store (by seq, with its reason): each is parked instead of
   * applied, and its rows hold only what Postgres can store (see createBatchPipeline).
   */
  refused?: ReadonlyMap<number, string>;
}

/** The rows a batch writes. Version rows carry their final `seq_to`; `closes` end rows already stored. */
export interface FoldOutput {
  lastSeq: number;
  chainHash: string;
  knownAt: string | null;
  applied: number;
  ledger: RowOf<'event_ledger'>[];
  repeats: RowOf<'event_repeats'>[];
  deadLetters: RowOf<'dead_letters'>[];
  reports: RowOf<'reports'>[];
  claimVersions: ClaimVersion[];
  claimCloses: ({ claim_id: string } & VersionClose)[];
  sourceVersions: SourceVersion[];
  sourceCloses: ({ source_id: string } & VersionClose)[];
  metricVersions: MetricVersion[];
  metricCloses: ({ metric: string } & VersionClose)[];
  citations: RowOf<'claim_citations'>[];
  revisions: RowOf<'claim_revisions'>[];
  topics: RowOf<'topics'>[];
  /** The state of every key the batch loaded or touched, after it (not written: see FoldState). */
  after: FoldState;
}
