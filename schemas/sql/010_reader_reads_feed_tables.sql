-- The dashboards read the feed tables and their aggregates now, which the reader is granted
-- with them at every migrate (schemas/tables.py, from the registry of feeds), and no longer
-- the old readings table: of the list in 006, the reader keeps sites and counties.
REVOKE SELECT ON readings, readings_hourly FROM envwatch_reader;
