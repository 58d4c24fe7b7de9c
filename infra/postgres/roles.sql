-- Roles for claimtrail. Idempotent: safe to run again on an existing database.
--
-- The postgres image runs this once, as the superuser, against POSTGRES_DB, when its data volume
-- is first initialised (/docker-entrypoint-initdb.d). It is a psql script: passwords come from the
-- environment (CLAIMTRAIL_WRITER_PASSWORD, CLAIMTRAIL_READER_PASSWORD) so none is written here;
-- where a variable is unset the role keeps its password (or has none, for trust auth in dev/CI).
-- Run by hand with: psql -v ON_ERROR_STOP=1 -d claimtrail -f infra/postgres/roles.sql
--
-- claimtrail_writer: migrate, projector and replay connect as it; it creates and owns the schemas.
-- claimtrail_reader: the query service connects as it; it can read whatever the writer creates.

-- A second run would otherwise print a notice for every object that already exists.
SET client_min_messages = warning;

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'claimtrail_writer') THEN
    CREATE ROLE claimtrail_writer LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'claimtrail_reader') THEN
    CREATE ROLE claimtrail_reader LOGIN;
  END IF;
END
$$;

-- The writer creates schemas (replay --into <schema>) in this database; the reader only connects.
-- Every role has TEMPORARY through PUBLIC by default. Read-only is only the reader's default (a
-- session may still begin a read-write transaction), and temporary tables are then the one thing
-- it could create, filling memory and disk: without TEMPORARY it cannot. The writer keeps it by
-- its own grant.
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT, CREATE, TEMPORARY ON DATABASE %I TO claimtrail_writer', current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO claimtrail_reader', current_database());
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM claimtrail_reader', current_database());
END
$$;

-- Defence in depth: even a bug in the query service cannot write.
ALTER ROLE claimtrail_reader SET default_transaction_read_only = on;

CREATE SCHEMA IF NOT EXISTS claimtrail AUTHORIZATION claimtrail_writer;
GRANT USAGE ON SCHEMA claimtrail TO claimtrail_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA claimtrail TO claimtrail_reader;

-- Without IN SCHEMA these apply to every schema and table the writer creates from now on,
-- including the fresh schemas that a replay builds and then promotes.
ALTER DEFAULT PRIVILEGES FOR ROLE claimtrail_writer GRANT USAGE ON SCHEMAS TO claimtrail_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE claimtrail_writer GRANT SELECT ON TABLES TO claimtrail_reader;

\getenv writer_password CLAIMTRAIL_WRITER_PASSWORD
\if :{?writer_password}
ALTER ROLE claimtrail_writer PASSWORD :'writer_password';
\endif
\getenv reader_password CLAIMTRAIL_READER_PASSWORD
\if :{?reader_password}
ALTER ROLE claimtrail_reader PASSWORD :'reader_password';
\endif
