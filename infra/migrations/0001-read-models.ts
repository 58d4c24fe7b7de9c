// Frozen in time: never import application code here, never edit after release; add a new file.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>, schema: string): Promise<void> {
  const s = sql.id(schema);
  await sql`
    create table ${s}.checkpoint (
      name text primary key,
      last_seq bigint not null,
      chain_hash text not null,
      known_at timestamptz,
      updated_at timestamptz not null default now()
    );
    create table ${s}.event_ledger (
      seq bigint primary key,
      subject text not null,
      event_id uuid unique,
      type text,
      version int,
      recorded_at timestamptz,
      known_at timestamptz not null,
      actor text,
      claim_id text,
      topic text,
      payload text not null,
      chain_hash text not null
    );
    create index event_ledger_claim on ${s}.event_ledger (claim_id, seq) where claim_id is not null;
    create index event_ledger_topic on ${s}.event_ledger (topic, seq) where topic is not null;
    create table ${s}.event_repeats (
      seq bigint primary key,
      event_id uuid not null,
      first_seq bigint not null
    );
    create table ${s}.dead_letters (
      seq bigint primary key,
      subject text not null,
      event_id text,
      type text,
      claim_id text,
      reason text not null,
      payload text not null,
      parked_at timestamptz not null default now()
    );
    create index dead_letters_claim on ${s}.dead_letters (claim_id) where claim_id is not null;
    create table ${s}.reports (
      report_id text primary key,
      seq bigint not null,
      known_at timestamptz not null,
      url text not null,
      publisher text not null,
      title text,
      published_at text not null,
      published_from timestamptz not null,
      language text,
      retrieved_at text
    );
    create table ${s}.sources (
      source_id text not null,
      seq_from bigint not null,
      seq_to bigint,
      known_from timestamptz not null,
      known_to timestamptz,
      name text,
      kind text,
      country text,
      primary key (source_id, seq_from)
    );
    create table ${s}.metrics (
      metric text not null,
      seq_from bigint not null,
      seq_to bigint,
      known_from timestamptz not null,
      known_to timestamptz,
      label text not null,
      unit text not null,
      aggregation text not null,
      composed_of text[],
      primary key (metric, seq_from)
    );
    create table ${s}.claim_versions (
      claim_id text not null,
      seq_from bigint not null,
      seq_to bigint,
      known_from timestamptz not null,
      known_to timestamptz,
      topic text not null,
      metric text not null,
      source_id text not null,
      unit text not null,
      value jsonb not null,
      low numeric,
      best numeric,
      high numeric,
      rule text not null,
      stated_at text not null,
      stated_from timestamptz not null,
      stated_to timestamptz not null,
      valid_from text not null,
      valid_from_at timestamptz not null,
      valid_to text not null,
      valid_to_at timestamptz not null,
      quote text,
      via jsonb not null,
      status text not null,
      first_seq bigint not null,
      recorded_at timestamptz not null,
      report_id text not null,
      primary key (claim_id, seq_from)
    );
    create index claim_versions_current on ${s}.claim_versions (topic, metric, source_id, stated_from) where seq_to is null;
    create index claim_versions_known on ${s}.claim_versions (topic, metric, known_from);
    create table ${s}.claim_citations (
      claim_id text not null,
      seq bigint not null,
      known_at timestamptz not null,
      report_id text not null,
      echo boolean not null,
      via jsonb not null,
      quote text,
      primary key (claim_id, seq)
    );
    create table ${s}.claim_revisions (
      claim_id text not null,
      seq bigint not null,
      type text not null,
      recorded_at timestamptz not null,
      known_at timestamptz not null,
      actor text not null,
      changes jsonb,
      reason text,
      retracted_by text,
      report_id text,
      primary key (claim_id, seq)
    );
  `.execute(db);
}
