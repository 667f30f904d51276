-- Hourly and daily aggregates as continuous aggregates, refreshed by policy.
CREATE MATERIALIZED VIEW IF NOT EXISTS readings_hourly
WITH (timescaledb.continuous) AS
SELECT time_bucket(interval '1 hour', ts) AS bucket, feed, site_id, parameter,
       avg(value) AS avg_value, min(value) AS min_value, max(value) AS max_value,
       count(*) AS samples
FROM readings
GROUP BY bucket, feed, site_id, parameter
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS readings_daily
WITH (timescaledb.continuous) AS
SELECT time_bucket(interval '1 day', ts, 'Asia/Shanghai') AS bucket, feed, site_id, parameter,
       avg(value) AS avg_value, min(value) AS min_value, max(value) AS max_value,
       count(*) AS samples
FROM readings
GROUP BY bucket, feed, site_id, parameter
WITH NO DATA;

SELECT add_continuous_aggregate_policy('readings_hourly', start_offset => interval '3 days',
    end_offset => interval '1 hour', schedule_interval => interval '5 minutes',
    if_not_exists => true);
SELECT add_continuous_aggregate_policy('readings_daily', start_offset => interval '30 days',
    end_offset => interval '1 hour', schedule_interval => interval '1 hour',
    if_not_exists => true);
