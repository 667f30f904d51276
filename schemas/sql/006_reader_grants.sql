-- The Grafana data source's role reads what the dashboards read (the SQL in dashboards/*.py)
-- and nothing else, and no query of it runs longer than the statement timeout. Anonymous wall
-- displays reach the database as this role, and Grafana's query API takes any SQL a viewer
-- sends, so the grants, not the dashboards, are what limits it.
--
-- The one list of what it may read: when a dashboard reads another table or view (or the
-- storage layout changes), change this list, in a migration of its own.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM envwatch_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM envwatch_reader;
GRANT SELECT ON
    readings,         -- energy: period consumption; water sections: the latest samples
    readings_hourly,  -- air station: pollutant history, IAQI, completeness
    sites,            -- every dashboard: the register's names, counties and positions
    counties          -- command centre, energy, water sections: county names
TO envwatch_reader;

-- Long enough for a wall display's heaviest panel over a year; a runaway query is cancelled.
-- A role's setting is the default of its sessions (a session may SET it again).
ALTER ROLE envwatch_reader SET statement_timeout = '15s';
ALTER ROLE envwatch_reader SET idle_in_transaction_session_timeout = '60s';
