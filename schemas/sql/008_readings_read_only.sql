-- The old one-row-per-parameter table gives way to a table per feed (schemas/tables.py), and
-- its rows move there in step 009. It is kept, read-only, with its aggregates readings_hourly
-- and readings_daily, until a later release drops them: no role may write it from here on, so
-- nothing reaches it after its rows have moved.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON readings FROM envwatch_writer, envwatch_reader, PUBLIC;
