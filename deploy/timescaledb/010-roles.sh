#!/bin/bash
# First start of the database only (docker-entrypoint-initdb.d): give the two login roles their
# passwords from the environment. `envwatch migrate` (schemas/sql/004_roles.sql) finds them and
# grants their rights; it never sets passwords.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v writer="${ENVWATCH_WRITER_PASSWORD:?}" -v reader="${ENVWATCH_READER_PASSWORD:?}" <<'SQL'
SELECT format('CREATE ROLE envwatch_writer LOGIN PASSWORD %L', :'writer')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'envwatch_writer') \gexec
SELECT format('CREATE ROLE envwatch_reader LOGIN PASSWORD %L', :'reader')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'envwatch_reader') \gexec
ALTER ROLE envwatch_writer PASSWORD :'writer';
ALTER ROLE envwatch_reader PASSWORD :'reader';
CREATE EXTENSION IF NOT EXISTS timescaledb;
SQL
