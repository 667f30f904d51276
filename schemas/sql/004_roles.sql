-- Two roles: the worker writes readings and reads them back; Grafana only reads.
-- Neither owns a table, so neither can change the schema.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'envwatch_writer') THEN
        CREATE ROLE envwatch_writer LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'envwatch_reader') THEN
        CREATE ROLE envwatch_reader LOGIN;
    END IF;
END
$$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO envwatch_writer, envwatch_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO envwatch_reader, envwatch_writer;
GRANT INSERT ON readings TO envwatch_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO envwatch_reader;
