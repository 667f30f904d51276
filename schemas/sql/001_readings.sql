-- Raw readings: one row per site, parameter and timestamp. The unique key is what makes
-- at-least-once delivery safe: a re-sent reading never makes a second row.
CREATE TABLE IF NOT EXISTS readings (
    ts          timestamptz      NOT NULL,
    feed        text             NOT NULL CHECK (feed IN ('air', 'water', 'energy')),
    site_id     text             NOT NULL,
    parameter   text             NOT NULL,
    value       double precision NOT NULL,
    ts_end      timestamptz,
    received_at timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT readings_unique UNIQUE (feed, site_id, parameter, ts)
);

CREATE INDEX IF NOT EXISTS readings_site_time ON readings (site_id, parameter, ts DESC);

-- The city's register of counties and sites, copied from schemas/reference/ at each migrate,
-- so that history queries and dashboards can group by county without the CSV files.
CREATE TABLE IF NOT EXISTS counties (
    code    text PRIMARY KEY,
    name_zh text NOT NULL,
    name_en text NOT NULL,
    lat     double precision,
    lon     double precision
);

CREATE TABLE IF NOT EXISTS sites (
    feed    text NOT NULL,
    site_id text NOT NULL,
    name_zh text NOT NULL,
    county  text NOT NULL REFERENCES counties (code),
    lat     double precision,
    lon     double precision,
    attrs   jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (feed, site_id)
);
