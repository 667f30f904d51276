"""The feed tables, their revisions, hourly and daily aggregates and grants, as SQL from the
registry.

Each feed of ``schemas.feeds.FEEDS`` gets ``<feed>_readings``: one row per reading, a column per
column of the feed (NULL for not measured, flags as jsonb, the status ``preliminary`` unless
given), ``received_at``, unique on ``site_id`` and the feed's key. ``<feed>_revisions`` keeps
each stored row an audited reading replaced: the key, every other column before and after
(``pm25_old``, ``pm25_new``), when each was received, and the topic, partition and offset of the
audited reading. ``<feed>_hourly`` and ``<feed>_daily`` hold, per quantity, the
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
from schemas.fields import PRELIMINARY

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
    "status": "text",
}
# Where a revision came from: the audited reading's topic, partition and offset.
SOURCE = {"source_topic": "text", "source_partition": "int", "source_offset": "bigint"}
OLD_NEW = ("old", "new")  # a revision's columns: pm25_old, pm25_new
NOT_NULL, NULL = sql.SQL(" NOT NULL"), sql.SQL("")


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


def revisions(feed: Feed) -> str:
    return f"{feed.name}_revisions"


def readable(feed: Feed) -> list[str]:
    """What both roles read of a feed: its table, aggregates and revisions (for analysts)."""
    return [table(feed), *(aggregate(feed, a) for a in AGGREGATES), revisions(feed)]


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
    return [name for name, _ in readings_table(feed).columns]


def replaced(feed: Feed) -> tuple[Column, ...]:
    """The columns an audited reading replaces: all but the key, in column order."""
    key = unique_key(feed)
    return tuple(c for c in feed.columns if c.name not in key)


def revision_columns(feed: Feed) -> list[str]:
    return [name for name, _ in revisions_table(feed).columns]


def copy_types(feed: Feed) -> tuple[str, ...]:
    """The binary COPY types of a row in ``Feed.columns`` order (as ``Feed.row_of`` makes it)."""
    return tuple(TYPES[c.kind] for c in feed.columns)


def _ids(names: list[str] | tuple[str, ...]) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def _interval(text: str | None) -> sql.Composable:
    return sql.SQL("{}::interval").format(sql.Literal(text))


def _definition(name: str, type_: str, extra: sql.Composable = NULL) -> tuple[str, sql.Composable]:
    return name, sql.SQL("{} {}{}").format(sql.Identifier(name), sql.SQL(type_), extra)


def _column(c: Column, key: tuple[str, ...]) -> tuple[str, sql.Composable]:
    extra: sql.Composable = NOT_NULL if c.name in key else NULL
    if c.kind == "status":  # rows stored before the field existed were preliminary
        extra = sql.SQL(" NOT NULL DEFAULT {}").format(sql.Literal(PRELIMINARY))
    return _definition(c.name, TYPES[c.kind], extra)


NOW = sql.SQL(" NOT NULL DEFAULT now()")
RECEIVED = _definition("received_at", "timestamptz", NOW)


class Table(NamedTuple):
    """A table of a feed: its name, its columns (name, definition) and its constraints."""

    name: str
    columns: list[tuple[str, sql.Composable]]
    constraints: list[sql.Composable]


def readings_table(feed: Feed) -> Table:
    key = unique_key(feed)
    constraint = sql.SQL("CONSTRAINT {} UNIQUE ({})").format(
        sql.Identifier(f"{table(feed)}_key"), _ids(key)
    )
    return Table(table(feed), [_column(c, key) for c in feed.columns] + [RECEIVED], [constraint])


def revisions_table(feed: Feed) -> Table:
    """A revision: the key, each replaced column before and after, when each was received (the
    old row's ``received_at``; the audited reading's, the time of the revision), its origin."""
    key = unique_key(feed)
    by_name = {c.name: c for c in feed.columns}
    columns = [_definition(k, TYPES[by_name[k].kind], NOT_NULL) for k in key]
    columns += [
        _definition(f"{c.name}_{end}", TYPES[c.kind]) for c in replaced(feed) for end in OLD_NEW
    ]
    columns += [
        _definition("received_at_old", "timestamptz", NOT_NULL),
        _definition("received_at_new", "timestamptz", NOW),
        *(_definition(name, type_, NOT_NULL) for name, type_ in SOURCE.items()),
    ]
    return Table(revisions(feed), columns, [])


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


def create_table(t: Table) -> sql.Composed:
    definitions = [d for _, d in t.columns] + t.constraints
    return sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
        sql.Identifier(t.name), sql.SQL(", ").join(definitions)
    )


def add_columns(t: Table, missing: list[str]) -> sql.Composed:
    """Columns the registry has and the table lacks (a quantity or a field the feed gained)."""
    adds = [
        sql.SQL("ADD COLUMN IF NOT EXISTS {}").format(d) for name, d in t.columns if name in missing
    ]
    return sql.SQL("ALTER TABLE {} {}").format(sql.Identifier(t.name), sql.SQL(", ").join(adds))


def indexes(feed: Feed) -> list[sql.Composed]:
    """The feed table's, for queries over all sites in a time range (the unique key serves one
    site's); the revisions', for one site's over time."""
    time = sql.Identifier(feed.time_column)
    return [
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({} DESC)").format(
            sql.Identifier(f"{table(feed)}_time"), sql.Identifier(table(feed)), time
        ),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (site_id, {} DESC)").format(
            sql.Identifier(f"{revisions(feed)}_site"), sql.Identifier(revisions(feed)), time
        ),
    ]


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
    """The writer stores readings, replaces stored ones by audited ones (an UPDATE) and keeps
    the revisions it made (never changes them); both roles read the table, its aggregates and
    its revisions."""
    return [
        sql.SQL("GRANT SELECT, INSERT, UPDATE ON {} TO {}").format(
            sql.Identifier(table(feed)), sql.Identifier(WRITER)
        ),
        sql.SQL("GRANT INSERT ON {} TO {}").format(
            sql.Identifier(revisions(feed)), sql.Identifier(WRITER)
        ),
        sql.SQL("GRANT SELECT ON {} TO {}").format(_ids(readable(feed)), _ids([WRITER, READER])),
    ]


def copy(feed: Feed) -> sql.Composed:
    """Binary COPY of rows in ``Feed.columns`` order into the feed table."""
    names = [c.name for c in feed.columns]
    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table(feed)), _ids(names)
    )


def select_stored(feed: Feed) -> sql.Composed:
    """The stored rows (``Feed.columns`` and ``received_at``) at some keys, between the earliest
    and the latest time among them, so that a hypertable reads only the chunks they fall in."""
    return sql.SQL("SELECT {} FROM {} {} WHERE {} BETWEEN %s AND %s").format(
        _ids(table_columns(feed)),
        sql.Identifier(table(feed)),
        _keys(feed),
        sql.Identifier(table(feed), feed.time_column),
    )


def _keys(feed: Feed) -> sql.Composed:
    """A join to the rows at some keys, given as one array per key column."""
    key = unique_key(feed)
    by_name = {c.name: c for c in feed.columns}
    arrays = sql.SQL(", ").join(
        sql.SQL("%s::{}[]").format(sql.SQL(TYPES[by_name[k].kind])) for k in key
    )
    return sql.SQL("JOIN unnest({}) AS k ({}) USING ({})").format(arrays, _ids(key), _ids(key))


def select_applied(feed: Feed) -> sql.Composed:
    """At some keys, the latest offset of each topic and partition whose audited reading
    revised the stored row (a reading replayed from that offset or before was applied)."""
    key = unique_key(feed)
    groups = _ids([*key, *list(SOURCE)[:2]])
    return sql.SQL("SELECT {}, max(source_offset) FROM {} {} GROUP BY {}").format(
        groups, sql.Identifier(revisions(feed)), _keys(feed), groups
    )


def update_stored(feed: Feed) -> sql.Composed:
    """One stored row's replaced columns and ``received_at`` (NULL: now) set, by its key."""
    names = [c.name for c in replaced(feed)] + ["received_at"]
    values = [sql.Placeholder()] * (len(names) - 1) + [sql.SQL("coalesce(%s::timestamptz, now())")]
    where = sql.SQL(" AND ").join(
        sql.SQL("{} = %s").format(sql.Identifier(k)) for k in unique_key(feed)
    )
    return sql.SQL("UPDATE {} SET ({}) = ({}) WHERE {}").format(
        sql.Identifier(table(feed)), _ids(names), sql.SQL(", ").join(values), where
    )


def insert_revision(feed: Feed) -> sql.Composed:
    """One revision, in ``revisions_table`` column order; ``received_at_old`` NULL is now (a
    row stored earlier in the same batch), ``received_at_new`` is the time of the revision."""
    names = [n for n in revision_columns(feed) if n != "received_at_new"]
    values = [
        sql.SQL("coalesce(%s::timestamptz, now())") if n == "received_at_old" else sql.Placeholder()
        for n in names
    ]
    return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(revisions(feed)), _ids(names), sql.SQL(", ").join(values)
    )
