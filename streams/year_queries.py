"""The queries that read a year of one feed for the plan targets, built from the registry.

Every name comes from the feed's entry (``psycopg.sql.Identifier``), every value is a
placeholder (``start``, ``end``: the year's first moment and the next year's, local time).
Validity is the database's own rule (``valid_value``, ``schemas/tables.py``). The audited basis
keeps the rows whose ``status`` is ``audited``; a table without that column has no audited rows.

They read the feed tables, not the aggregates: the aggregates hold float averages (the
assessment compares exact means with limits and breakpoints), no ``status``, and on TimescaleDB
reach a corrected reading only at their next refresh, while a revision is read at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from schemas import tables
from schemas.feed import Feed, Quantity

STATUS, AUDITED = "status", "audited"
NOW = sql.SQL("SELECT now()")
LOCAL = sql.Literal(tables.CITY_TZ)


def _only(feed: Feed, names: Sequence[str]) -> list[Quantity]:
    by_attr = {q.attr: q for q in feed.quantities}
    return [by_attr[n] for n in names]


def _valid_value(q: Quantity) -> sql.Composed:
    return sql.SQL("CASE WHEN {} THEN {} END").format(tables.valid(q), sql.Identifier(q.attr))


def _exact_sums(quantities: Sequence[Quantity]) -> list[sql.Composed]:
    """Each quantity's sum of valid values and their count. A value's text is its shortest
    decimal (``extra_float_digits`` 1), the decimal the judgement reads a float as, so the
    numeric sum is exact."""
    out = []
    for q in quantities:
        column, valid = sql.Identifier(q.attr), tables.valid(q)
        out.append(sql.SQL("sum({}::text::numeric) FILTER (WHERE {})").format(column, valid))
        out.append(sql.SQL("count({}) FILTER (WHERE {})").format(column, valid))
    return out


def _where(feed: Feed, audited: bool, closed_end: bool = False) -> sql.Composed:
    """The year: a reading filed at its time column (an hourly air reading at the end of its
    hour, so the hour ending at midnight on 1 January is the year before's)."""
    time = sql.Identifier(feed.time_column)
    span = "{} > %(start)s AND {} <= %(end)s" if closed_end else "{} >= %(start)s AND {} < %(end)s"
    where = sql.SQL(span).format(time, time)
    if audited:
        where = sql.SQL("{} AND {} = {}").format(
            where, sql.Identifier(STATUS), sql.Literal(AUDITED)
        )
    return where


def latest(feed: Feed) -> sql.Composed:
    """The newest moment a feed has a reading of, of any year (an hourly air reading's hour
    ends at its time, so the hour ending at midnight on 1 January is still the old year's)."""
    return sql.SQL("SELECT {} FROM {}").format(_newest(feed), sql.Identifier(tables.table(feed)))


def _newest(feed: Feed) -> sql.Composed:
    newest = sql.SQL("max({})").format(sql.Identifier(feed.time_column))
    if feed.name == "air":
        return sql.SQL("{} - interval '1 microsecond'").format(newest)
    return newest


def newest(feed: Feed, audited: bool) -> sql.Composed:
    """The newest moment the year's readings cover."""
    return sql.SQL("SELECT {} FROM {} WHERE {}").format(
        _newest(feed),
        sql.Identifier(tables.table(feed)),
        _where(feed, audited, closed_end=feed.name == "air"),
    )


def _hour_day(feed: Feed) -> sql.Composed:
    """The local day an hourly reading's hour (ending at its time) falls on."""
    return sql.SQL("to_char(({} - interval '1 hour') AT TIME ZONE {}, 'YYYY-MM-DD')").format(
        sql.Identifier(feed.time_column), LOCAL
    )


def air_hours(
    feed: Feed, pollutants: Sequence[str], audited: bool, days: bool = False
) -> sql.Composed:
    """Each station's hourly values (valid ones, NULL for the rest), with the hour's end in
    seconds since the epoch; with ``days``, of one station's days only (``site``, ``days``)."""
    where = _where(feed, audited, closed_end=True)
    if days:
        where = sql.SQL("{} AND site_id = %(site)s AND {} = ANY(%(days)s)").format(
            where, _hour_day(feed)
        )
    return sql.SQL(
        "SELECT site_id, extract(epoch FROM {})::float8, {} FROM {} WHERE {} = '1h' AND {}"
    ).format(
        sql.Identifier(feed.time_column),
        sql.SQL(", ").join(_valid_value(q) for q in _only(feed, pollutants)),
        sql.Identifier(tables.table(feed)),
        sql.Identifier("period"),
        where,
    )


def air_days_received(feed: Feed) -> sql.Composed:
    """The station-days of hourly readings stored since ``since``."""
    return sql.SQL(
        "SELECT DISTINCT site_id, {} FROM {} WHERE {} = '1h' AND received_at >= %(since)s AND {}"
    ).format(
        _hour_day(feed),
        sql.Identifier(tables.table(feed)),
        sql.Identifier("period"),
        _where(feed, audited=False, closed_end=True),
    )


def monthly_sums(feed: Feed, audited: bool) -> sql.Composed:
    """Per site and local month (1-12): each quantity's exact sum of valid values and count."""
    return _grouped(feed, sql.SQL("extract(month FROM {} AT TIME ZONE {})::int"), audited)


def daily_sums(feed: Feed, audited: bool) -> sql.Composed:
    """Per site and local day (ISO): each quantity's exact sum of valid values and count."""
    return _grouped(feed, sql.SQL("to_char({} AT TIME ZONE {}, 'YYYY-MM-DD')"), audited)


def _grouped(feed: Feed, bucket: sql.SQL, audited: bool) -> sql.Composed:
    return sql.SQL("SELECT site_id, {} AS bucket, {} FROM {} WHERE {} GROUP BY 1, 2").format(
        bucket.format(sql.Identifier(feed.time_column), LOCAL),
        sql.SQL(", ").join(_exact_sums(feed.quantities)),
        sql.Identifier(tables.table(feed)),
        _where(feed, audited),
    )


def metered(feed: Feed, carriers: Sequence[str], audited: bool) -> sql.Composed:
    """Each stored period of the year (by its start): its end and its valid amounts."""
    return sql.SQL("SELECT site_id, {}, {} FROM {} WHERE {}").format(
        sql.Identifier("period_end"),
        sql.SQL(", ").join(_valid_value(q) for q in _only(feed, carriers)),
        sql.Identifier(tables.table(feed)),
        _where(feed, audited),
    )


# Whether a table has the status column yet (parameters: the table's name, the column's).
HAS_COLUMN = sql.SQL(
    "SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass(%s)"
    " AND attname = %s AND NOT attisdropped)"
)
