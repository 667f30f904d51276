-- Plain PostgreSQL path: the same names and columns as the continuous aggregates, as views.
-- Days are calendar days in the city's time zone, as on the TimescaleDB path.
CREATE OR REPLACE VIEW readings_hourly AS
SELECT date_trunc('hour', ts) AS bucket, feed, site_id, parameter,
       avg(value) AS avg_value, min(value) AS min_value, max(value) AS max_value,
       count(*) AS samples
FROM readings
GROUP BY 1, feed, site_id, parameter;

CREATE OR REPLACE VIEW readings_daily AS
SELECT date_trunc('day', ts, 'Asia/Shanghai') AS bucket, feed, site_id, parameter,
       avg(value) AS avg_value, min(value) AS min_value, max(value) AS max_value,
       count(*) AS samples
FROM readings
GROUP BY 1, feed, site_id, parameter;
