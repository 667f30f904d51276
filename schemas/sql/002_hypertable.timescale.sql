-- TimescaleDB path: readings become a hypertable, compressed after a week, kept five years.
CREATE EXTENSION IF NOT EXISTS timescaledb;
SELECT create_hypertable('readings', 'ts', chunk_time_interval => interval '7 days',
                         if_not_exists => true, migrate_data => true);
ALTER TABLE readings SET (timescaledb.compress,
                          timescaledb.compress_segmentby = 'feed, site_id, parameter',
                          timescaledb.compress_orderby = 'ts DESC');
SELECT add_compression_policy('readings', interval '7 days', if_not_exists => true);
SELECT add_retention_policy('readings', interval '5 years', if_not_exists => true);
