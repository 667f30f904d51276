#!/bin/bash
# First start of the database only (docker-entrypoint-initdb.d): give the two login roles their
# passwords, read by psql itself from the secret files, so that no password is on a command line
# or in the environment, and any character works (psql quotes them as SQL literals).
# `envwatch migrate` (schemas/sql/004_roles.sql) finds the roles and grants their rights; it
# never sets passwords.
set -euo pipefail
export DB_WRITER_PASSWORD_FILE="${DB_WRITER_PASSWORD_FILE:-/run/secrets/db_writer_password}"
export DB_READER_PASSWORD_FILE="${DB_READER_PASSWORD_FILE:-/run/secrets/db_reader_password}"
for file in "$DB_WRITER_PASSWORD_FILE" "$DB_READER_PASSWORD_FILE"; do
  [ -s "$file" ] || { echo "010-roles.sh: $file is missing or empty (deploy/secrets.sh)" >&2; exit 1; }
done
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
\set writer `cat "$DB_WRITER_PASSWORD_FILE"`
\set reader `cat "$DB_READER_PASSWORD_FILE"`
SELECT format('CREATE ROLE envwatch_writer LOGIN PASSWORD %L', :'writer')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'envwatch_writer') \gexec
SELECT format('CREATE ROLE envwatch_reader LOGIN PASSWORD %L', :'reader')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'envwatch_reader') \gexec
ALTER ROLE envwatch_writer PASSWORD :'writer';
ALTER ROLE envwatch_reader PASSWORD :'reader';
SQL
