-- Every alert transition (firing, resolved) as the worker decided it; the same transition
-- replayed after a restart is one row, not two.
CREATE TABLE IF NOT EXISTS alert_history (
    at          timestamptz      NOT NULL,
    condition   text             NOT NULL,
    feed        text             NOT NULL,
    site_id     text             NOT NULL,
    county      text             NOT NULL,
    parameter   text             NOT NULL DEFAULT '',
    severity    text             NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    transition  text             NOT NULL CHECK (transition IN ('firing', 'resolved')),
    value       double precision,
    limit_value double precision,
    edition     text,
    details     jsonb            NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT alert_history_unique UNIQUE (condition, site_id, parameter, at, transition)
);

CREATE INDEX IF NOT EXISTS alert_history_site ON alert_history (site_id, at DESC);

GRANT SELECT ON alert_history TO envwatch_reader, envwatch_writer;
GRANT INSERT ON alert_history TO envwatch_writer;
