import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Numeric = ColumnType<string | null, number | string | null, number | string | null>;
type Json<T> = ColumnType<T, string, string>;
type BigSeq = ColumnType<string, number | bigint | string, number | bigint | string>;

/** Tables of one read-model schema. */
export interface ReadModelTables {
  checkpoint: {
    name: string;
    last_seq: BigSeq;
    chain_hash: string;
    known_at: Timestamp | null;
    updated_at: Generated<Timestamp>;
  };
  fold_rule: {
    id: Generated<boolean>;
    rule: string;
    set_at: Generated<Timestamp>;
  };
  projector_lease: {
    name: string;
    epoch: BigSeq;
    holder: string;
    taken_at: Generated<Timestamp>;
  };
  event_ledger: {
    seq: BigSeq;
    subject: string;
    event_id: string | null;
    type: string | null;
    version: number | null;
    recorded_at: Timestamp | null;
    known_at: Timestamp;
    actor: string | null;
    claim_id: string | null;
    topic: string | null;
    payload: string;
    chain_hash: string;
  };
  event_repeats: { seq: BigSeq; event_id: string; first_seq: BigSeq };
  dead_letters: {
    seq: BigSeq;
    subject: string;
    event_id: string | null;
    type: string | null;
    claim_id: string | null;
    reason: string;
    payload: string;
    parked_at: Generated<Timestamp>;
  };
  reports: {
    report_id: string;
    seq: BigSeq;
    known_at: Timestamp;
    url: string;
    publisher: string;
    title: string | null;
    published_at: string;
    published_from: Timestamp;
    language: string | null;
    retrieved_at: string | null;
    kind: string | null;
    published_to: Timestamp;
  };
  sources: {
    source_id: string;
    seq_from: BigSeq;
    seq_to: BigSeq | null;
    known_from: Timestamp;
    known_to: Timestamp | null;
    name: string | null;
    kind: string | null;
    country: string | null;
  };
  metrics: {
    metric: string;
    seq_from: BigSeq;
    seq_to: BigSeq | null;
    known_from: Timestamp;
    known_to: Timestamp | null;
    label: string;
    unit: string;
    aggregation: string;
    composed_of: string[] | null;
  };
  claim_versions: {
    claim_id: string;
    seq_from: BigSeq;
    seq_to: BigSeq | null;
    known_from: Timestamp;
    known_to: Timestamp | null;
    topic: string;
    metric: string;
    source_id: string;
    unit: string;
    value: Json<unknown>;
    low: Numeric;
    best: Numeric;
    high: Numeric;
    rule: string;
    stated_at: string;
    stated_from: Timestamp;
    stated_to: Timestamp;
    valid_from: string;
    valid_from_at: Timestamp;
    valid_to: string;
    valid_to_at: Timestamp;
    quote: string | null;
    via: Json<unknown>;
    status: string;
    first_seq: BigSeq;
    recorded_at: Timestamp;
    report_id: string;
    confidence: string | null;
    likelihood: string | null;
    note: string | null;
    corrected: Generated<boolean>;
  };
  claim_citations: {
    claim_id: string;
    seq: BigSeq;
    known_at: Timestamp;
    report_id: string;
    echo: boolean;
    via: Json<unknown>;
    quote: string | null;
  };
  claim_revisions: {
    claim_id: string;
    seq: BigSeq;
    type: string;
    recorded_at: Timestamp;
    known_at: Timestamp;
    actor: string;
    changes: Json<unknown> | null;
    reason: string | null;
    retracted_by: string | null;
    report_id: string | null;
    before: Json<unknown> | null;
  };
  topics: {
    topic: string;
    seq: BigSeq;
    known_at: Timestamp;
    label: string;
    description: string | null;
  };
}

/** Tables of the meta schema. */
export interface MetaTables {
  api_tokens: {
    token_hash: string;
    principal: string;
    scopes: string[];
    created_at: Generated<Timestamp>;
    revoked_at: Timestamp | null;
  };
  active_schema: { id: Generated<boolean>; schema_name: string; promoted_at: Generated<Timestamp> };
}

/** The Kysely database type; use `db.withSchema(name)` to pick a read-model schema. */
export type Database = ReadModelTables & MetaTables;
