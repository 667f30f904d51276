"""The feed tables, their hourly and daily aggregates and their grants, as SQL from the registry.

Each feed of ``schemas.feeds.FEEDS`` gets ``<feed>_readings``: one row per reading, a column per
column of the feed (NULL for not measured, flags as jsonb), ``received_at``, unique on
``site_id`` and the feed's key. ``<feed>_hourly`` and ``<feed>_daily`` hold, per quantity, the
average, minimum, maximum and count of valid values (``pm25_avg``, ``pm25_min``, ``pm25_max``,
``pm25_n``): named after the column first, so a quantity's figures sort together and read as
the analyst says them. With TimescaleDB the table is a hypertable and the aggregates are
continuous aggregates that answer with the present (real-time aggregation); without it they are
a plain table and views with the same names and columns.

Pure: every statement is built with ``psycopg.sql`` from the registry; ``schemas.migrate``
decides which to run against the catalog it finds.
"""

from __future__ import annotations

from typing import NamedTuple

from psycopg import sql

from schemas.feed import Column, Feed, Quantity

CITY_TZ = "Asia/Shanghai"  # days are the city's calendar days
CHUNK = "7 days"  # one chunk a week: a station's week is one or two chunks
COMPRESS_AFTER = "7 days"  # late readings mostly arrive within the week
KEEP = "5 years"  # raw readings; the aggregates are kept beyond
# HJ 212 data flags that leave a value valid: N (valid) and S (set by hand). Any other flag
# makes the value invalid; a value without a flag is valid. The one place of this rule.
VALID_FLAGS = ("N", "S")
VALID = "valid_value"  # the SQL function stating the rule, for aggregates and analysts alike
WRITER, READER = "envwatch_writer", "envwatch_reader"
STATS = ("avg", "min", "max", "n")

TYPES = {
    "site": "text",
    "time": "timestamptz",
    "text": "text",
    "value": "float8",
    "flags": "jsonb",
}


class Aggregate(NamedTuple):
    """One aggregate per feed and a refresh policy for it (README, Storage, explains them)."""

    suffix: str  # the view is <feed>_<suffix>
    unit: str  # the bucket: one hour, one day (in CITY_TZ)
    end_offset: str  # the newest span left to real-time aggregation
    schedule: str  # how often the policy materializes


# start_offset is always NULL: the refresh window reaches back to the oldest reading, so a
# late, replayed or corrected reading of any age is re-aggregated at the next run; a refresh
# only recomputes buckets whose rows changed.
HOURLY = Aggregate("hourly", "hour", "1 hour", "30 minutes")
DAILY = Aggregate("daily", "day", "1 hour", "1 hour")
AGGREGATES = (HOURLY, DAILY)


def table(feed: Feed) -> str:
    return f"{feed.name}_readings"


def stage(feed: Feed) -> str:
    """The sink's per-connection staging table (its conflict path)."""
    return f"{feed.name}_stage"


def aggregate(feed: Feed, agg: Aggregate) -> str:
    return f"{feed.name}_{agg.suffix}"


def stat_column(q: Quantity, stat: str) -> str:
    return f"{q.attr}_{stat}"


def unique_key(feed: Feed) -> tuple[str, ...]:
    """What makes a reading unique: the site and the feed's key."""
    if feed.time_column not in feed.key:
        raise ValueError(f"feed {feed.name}: the key must hold {feed.time_column!r}, its time")
    return ("site_id", *feed.key)


def group_columns(feed: Feed) -> tuple[str, ...]:
    """An aggregate's rows besides the bucket: per site and key column other than the time
    (air's averaging period: an hourly and a 24-hour value never enter one mean)."""
    return tuple(c for c in unique_key(feed) if c != feed.time_column)


def aggregate_columns(feed: Feed) -> list[str]:
    stats = [stat_column(q, s) for q in feed.quantities for s in STATS]
    return ["bucket", *group_columns(feed), *stats]


def table_columns(feed: Feed) -> list[str]:
    return [c.name for c in feed.columns] + ["received_at"]


def copy_types(feed: Feed) -> tuple[str, ...]:
    """The binary COPY types of a row in ``Feed.columns`` order (as ``Feed.row_of`` makes it)."""
    return tuple(TYPES[c.kind] for c in feed.columns)


def _ids(names: list[str] | tuple[str, ...]) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def _interval(text: str | None) -> sql.Composable:
    return sql.SQL("{}::interval").format(sql.Literal(text))


def _column(c: Column, key: tuple[str, ...]) -> sql.Composable:
    null = sql.SQL(" NOT NULL") if c.name in key else sql.SQL("")
    return sql.SQL("{} {}{}").format(sql.Identifier(c.name), sql.SQL(TYPES[c.kind]), null)


RECEIVED = sql.SQL("received_at timestamptz NOT NULL DEFAULT now()")


def valid_function() -> sql.Composed:
    """``valid_value(value, flag)``: a value counts when measured and not flagged invalid."""
    flags = sql.SQL(", ").join(map(sql.Literal, VALID_FLAGS))
    return sql.SQL(
        "CREATE OR REPLACE FUNCTION {}(value float8, flag text) RETURNS boolean "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE "
        "RETURN value IS NOT NULL AND (flag IS NULL OR flag IN ({}))"
    ).format(sql.Identifier(VALID), flags)


def valid(q: Quantity, row: str | None = None) -> sql.Composed:
    """The validity of one quantity of a row (of ``row``, an alias, if given): its value and
    its flag, found by the quantity's wire name."""
    names = (row,) if row else ()
    return sql.SQL("{}({}, {} ->> {})").format(
        sql.Identifier(VALID),
        sql.Identifier(*names, q.attr),
        sql.Identifier(*names, "flags"),
        sql.Literal(q.wire),
    )


def create_table(feed: Feed) -> sql.Composed:
    key = unique_key(feed)
    columns = [_column(c, key) for c in feed.columns] + [RECEIVED]
    constraint = sql.SQL("CONSTRAINT {} UNIQUE ({})").format(
        sql.Identifier(f"{table(feed)}_key"), _ids(key)
    )
    return sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
        sql.Identifier(table(feed)), sql.SQL(", ").join([*columns, constraint])
    )


def add_columns(feed: Feed, missing: list[str]) -> sql.Composed:
    """Columns the registry has and the table lacks (a quantity the feed gained)."""
    key = unique_key(feed)
    adds = [
        sql.SQL("ADD COLUMN IF NOT EXISTS {}").format(_column(c, key))
        for c in feed.columns
        if c.name in missing
    ]
    return sql.SQL("ALTER TABLE {} {}").format(
        sql.Identifier(table(feed)), sql.SQL(", ").join(adds)
    )


def time_index(feed: Feed) -> sql.Composed:
    """For queries over all sites in a time range (the unique key serves one site's)."""
    return sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({} DESC)").format(
        sql.Identifier(f"{table(feed)}_time"),
        sql.Identifier(table(feed)),
        sql.Identifier(feed.time_column),
    )


def hypertable(feed: Feed) -> list[sql.Composed]:
    """A hypertable compressed by site and time, with its compression and retention policies."""
    name = sql.Literal(table(feed))
    order: list[sql.Composable] = [sql.SQL("{} DESC").format(sql.Identifier(feed.time_column))]
    order += [sql.Identifier(c) for c in group_columns(feed) if c != "site_id"]
    return [
        sql.SQL(
            "SELECT create_hypertable({}, {}, chunk_time_interval => {}, "
            "create_default_indexes => false, if_not_exists => true, migrate_data => true)"
        ).format(name, sql.Literal(feed.time_column), _interval(CHUNK)),
        sql.SQL(
            "ALTER TABLE {} SET (timescaledb.compress, timescaledb.compress_segmentby = {}, "
            "timescaledb.compress_orderby = {})"
        ).format(
            sql.Identifier(table(feed)),
            sql.Literal(sql.Identifier("site_id").as_string()),
            sql.Literal(sql.SQL(", ").join(order).as_string()),
        ),
        sql.SQL(
            "SELECT add_compression_policy({}, compress_after => {}, if_not_exists => true)"
        ).format(name, _interval(COMPRESS_AFTER)),
        sql.SQL("SELECT add_retention_policy({}, drop_after => {}, if_not_exists => true)").format(
            name, _interval(KEEP)
        ),
    ]


def _select(feed: Feed, agg: Aggregate, timescale: bool) -> sql.Composed:
    time, width = sql.Identifier(feed.time_column), sql.Literal(f"1 {agg.unit}")
    bucket = (
        sql.SQL("time_bucket({}::interval, {}, {})").format(width, time, sql.Literal(CITY_TZ))
        if timescale
        else sql.SQL("date_trunc({}, {}, {})").format(
            sql.Literal(agg.unit), time, sql.Literal(CITY_TZ)
        )
    )
    functions = {"avg": "avg({})", "min": "min({})", "max": "max({})", "n": "count({})"}
    stats = [
        sql.SQL(functions[s] + " FILTER (WHERE {}) AS {}").format(
            sql.Identifier(q.attr), valid(q), sql.Identifier(stat_column(q, s))
        )
        for q in feed.quantities
        for s in STATS
    ]
    groups = [sql.Identifier(c) for c in group_columns(feed)]
    return sql.SQL("SELECT {} AS bucket, {} FROM {} GROUP BY bucket, {}").format(
        bucket,
        sql.SQL(", ").join([*groups, *stats]),
        sql.Identifier(table(feed)),
        sql.SQL(", ").join(groups),
    )


def create_aggregate(feed: Feed, agg: Aggregate, timescale: bool) -> list[sql.Composed]:
    """The aggregate, and on TimescaleDB its refresh policy."""
    name = aggregate(feed, agg)
    if not timescale:
        return [
            sql.SQL("CREATE VIEW {} AS {}").format(
                sql.Identifier(name), _select(feed, agg, timescale=False)
            )
        ]
    return [
        sql.SQL(
            "CREATE MATERIALIZED VIEW {} WITH (timescaledb.continuous, "
            "timescaledb.materialized_only = false) AS {} WITH NO DATA"
        ).format(sql.Identifier(name), _select(feed, agg, timescale=True)),
        sql.SQL(
            "SELECT add_continuous_aggregate_policy({}, start_offset => NULL::interval, "
            "end_offset => {}, schedule_interval => {}, if_not_exists => true)"
        ).format(sql.Literal(name), _interval(agg.end_offset), _interval(agg.schedule)),
    ]


def drop_aggregate(name: str, materialized: bool) -> sql.Composed:
    kind = sql.SQL("MATERIALIZED VIEW" if materialized else "VIEW")
    return sql.SQL("DROP {} IF EXISTS {}").format(kind, sql.Identifier(name))


def grants(feed: Feed) -> list[sql.Composed]:
    """The writer stores readings and reads what it stored; both roles read the aggregates."""
    readable = [table(feed), *(aggregate(feed, a) for a in AGGREGATES)]
    return [
        sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(
            sql.Identifier(table(feed)), sql.Identifier(WRITER)
        ),
        sql.SQL("GRANT SELECT ON {} TO {}").format(_ids(readable), _ids([WRITER, READER])),
    ]


def copy(feed: Feed, into: str) -> sql.Composed:
    """Binary COPY of rows in ``Feed.columns`` order into the feed table or its stage."""
    names = [c.name for c in feed.columns]
    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(into), _ids(names)
    )


def create_stage(feed: Feed) -> sql.Composed:
    columns = [_column(c, ()) for c in feed.columns]
    return sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT DELETE ROWS").format(
        sql.Identifier(stage(feed)), sql.SQL(", ").join(columns)
    )


def insert_staged(feed: Feed) -> sql.Composed:
    """The staged rows not stored yet; returns the key of each row it stored, so the rest of
    the batch is known to be held already (or twice in the batch)."""
    names = _ids([c.name for c in feed.columns])
    key = _ids(unique_key(feed))
    return sql.SQL(
        "INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) DO NOTHING RETURNING {}"
    ).format(sql.Identifier(table(feed)), names, names, sql.Identifier(stage(feed)), key, key)
