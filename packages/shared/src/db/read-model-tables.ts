/**
 * The one registry of the read-model tables the projector fills: their columns (in the order the
 * projector writes them), Postgres types, keys and how they relate to the stream. The projector's
 * COPY lists and recordset types, the fold's row types, the audit's table comparison and the
 * tests' digests are made from it; a test checks that the migrations build exactly these shapes.
 * Adding a column: a migration and one line here.
 */

/** The Postgres types the read models use. */
export type PgType = 'text' | 'bigint' | 'int' | 'uuid' | 'timestamptz' | 'jsonb' | 'numeric' | 'boolean' | 'text[]';

export interface ColumnSpec {
  type: PgType;
  /** May hold null (default: not null). */
  nullable?: true;
  /** Set by Postgres (a default of now()), not written by the projector. */
  generated?: true;
}

export interface TableSpec {
  /** The primary key. */
  keys: readonly string[];
  /** The column holding the seq of the event that wrote the row. */
  seq: string;
  /** Rows are versions with seq_from/seq_to and known_from/known_to. */
  versioned: boolean;
  /** Written for every batch with COPY (the frequent tables), else with plain inserts. */
  copy: boolean;
  columns: Readonly<Record<string, ColumnSpec>>;
}

const t = <P extends PgType>(type: P) => ({ type }) as const;
const n = <P extends PgType>(type: P) => ({ type, nullable: true }) as const;
const versionColumns = {
  seq_from: t('bigint'),
  seq_to: n('bigint'),
  known_from: t('timestamptz'),
  known_to: n('timestamptz'),
} as const;

export const READ_MODEL_TABLES = {
  event_ledger: {
    keys: ['seq'],
    seq: 'seq',
    versioned: false,
    copy: true,
    columns: {
      seq: t('bigint'),
      subject: t('text'),
      event_id: n('uuid'),
      type: n('text'),
      version: n('int'),
      recorded_at: n('timestamptz'),
      known_at: t('timestamptz'),
      actor: n('text'),
      claim_id: n('text'),
      topic: n('text'),
      payload: t('text'),
      chain_hash: t('text'),
    },
  },
  event_repeats: {
    keys: ['seq'],
    seq: 'seq',
    versioned: false,
    copy: false,
    columns: { seq: t('bigint'), event_id: t('uuid'), first_seq: t('bigint') },
  },
  dead_letters: {
    keys: ['seq'],
    seq: 'seq',
    versioned: false,
    copy: false,
    columns: {
      seq: t('bigint'),
      subject: t('text'),
      event_id: n('text'),
      type: n('text'),
      claim_id: n('text'),
      reason: t('text'),
      payload: t('text'),
      parked_at: { type: 'timestamptz', generated: true } as const,
    },
  },
  reports: {
    keys: ['report_id'],
    seq: 'seq',
    versioned: false,
    copy: true,
    columns: {
      report_id: t('text'),
      seq: t('bigint'),
      known_at: t('timestamptz'),
      url: t('text'),
      publisher: t('text'),
      title: n('text'),
      published_at: t('text'),
      published_from: t('timestamptz'),
      language: n('text'),
      retrieved_at: n('text'),
      kind: n('text'),
      published_to: t('timestamptz'),
    },
  },
  sources: {
    keys: ['source_id', 'seq_from'],
    seq: 'seq_from',
    versioned: true,
    copy: false,
    columns: {
      source_id: t('text'),
      ...versionColumns,
      name: n('text'),
      kind: n('text'),
      country: n('text'),
    },
  },
  metrics: {
    keys: ['metric', 'seq_from'],
    seq: 'seq_from',
    versioned: true,
    copy: false,
    columns: {
      metric: t('text'),
      ...versionColumns,
      label: t('text'),
      unit: t('text'),
      aggregation: t('text'),
      composed_of: n('text[]'),
    },
  },
  claim_versions: {
    keys: ['claim_id', 'seq_from'],
    seq: 'seq_from',
    versioned: true,
    copy: true,
    columns: {
      claim_id: t('text'),
      ...versionColumns,
      topic: t('text'),
      metric: t('text'),
      source_id: t('text'),
      unit: t('text'),
      value: t('jsonb'),
      low: n('numeric'),
      best: n('numeric'),
      high: n('numeric'),
      rule: t('text'),
      stated_at: t('text'),
      stated_from: t('timestamptz'),
      stated_to: t('timestamptz'),
      valid_from: t('text'),
      valid_from_at: t('timestamptz'),
      valid_to: t('text'),
      valid_to_at: t('timestamptz'),
      quote: n('text'),
      via: t('jsonb'),
      status: t('text'),
      first_seq: t('bigint'),
      recorded_at: t('timestamptz'),
      report_id: t('text'),
      confidence: n('text'),
      likelihood: n('text'),
      note: n('text'),
      corrected: t('boolean'),
    },
  },
  claim_citations: {
    keys: ['claim_id', 'seq'],
    seq: 'seq',
    versioned: false,
    copy: true,
    columns: {
      claim_id: t('text'),
      seq: t('bigint'),
      known_at: t('timestamptz'),
      report_id: t('text'),
      echo: t('boolean'),
      via: t('jsonb'),
      quote: n('text'),
    },
  },
  claim_revisions: {
    keys: ['claim_id', 'seq'],
    seq: 'seq',
    versioned: false,
    copy: true,
    columns: {
      claim_id: t('text'),
      seq: t('bigint'),
      type: t('text'),
      recorded_at: t('timestamptz'),
      known_at: t('timestamptz'),
      actor: t('text'),
      changes: n('jsonb'),
      reason: n('text'),
      retracted_by: n('text'),
      report_id: n('text'),
      before: n('jsonb'),
    },
  },
  topics: {
    keys: ['topic', 'seq'],
    seq: 'seq',
    versioned: false,
    copy: false,
    columns: {
      topic: t('text'),
      seq: t('bigint'),
      known_at: t('timestamptz'),
      label: t('text'),
      description: n('text'),
    },
  },
} as const satisfies Record<string, TableSpec>;

export type ReadModelTable = keyof typeof READ_MODEL_TABLES;

/** Every read-model table, in the order the projector writes them. */
export const READ_MODEL_TABLE_NAMES = Object.keys(READ_MODEL_TABLES) as ReadModelTable[];

type Columns<T extends ReadModelTable> = (typeof READ_MODEL_TABLES)[T]['columns'];

/** The columns the projector writes (those Postgres sets left out), in order. */
export type WrittenColumn<T extends ReadModelTable> = {
  [K in keyof Columns<T>]: Columns<T>[K] extends { generated: true } ? never : K;
}[keyof Columns<T>] &
  string;

/** The columns the projector writes to `table`, in order. */
export function writtenColumns<T extends ReadModelTable>(table: T): readonly WrittenColumn<T>[] {
  const cols = READ_MODEL_TABLES[table].columns as Readonly<Record<string, ColumnSpec>>;
  return Object.keys(cols).filter((c) => !cols[c]!.generated) as WrittenColumn<T>[];
}

/** `name type, …` of the written columns: the column list of `json_to_recordset(…) as x(…)`. */
export function recordsetColumns(table: ReadModelTable): string {
  const cols = READ_MODEL_TABLES[table].columns as Readonly<Record<string, ColumnSpec>>;
  return (writtenColumns(table) as readonly string[]).map((c) => `${c} ${cols[c]!.type}`).join(', ');
}

/** The TypeScript value of each Postgres type as the fold holds it (timestamps as ISO text). */
interface TsOf {
  text: string;
  bigint: number;
  int: number;
  uuid: string;
  timestamptz: string;
  jsonb: unknown;
  numeric: number;
  boolean: boolean;
  'text[]': string[];
}

/** A row of `table` as the fold writes it, typed from the registry. */
export type RowOf<T extends ReadModelTable> = {
  -readonly [K in WrittenColumn<T>]: Columns<T>[K] extends { type: infer P extends PgType; nullable: true }
    ? TsOf[P] | null
    : Columns<T>[K] extends { type: infer P extends PgType }
      ? TsOf[P]
      : never;
};
