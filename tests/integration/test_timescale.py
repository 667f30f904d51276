"""The TimescaleDB path on a real TimescaleDB server (ENVWATCH_TEST_DATABASE_URL): hypertables
and chunks, real-time aggregates, compression, the jobs, and chunk exclusion. Skipped, saying
why, on a server without the extension (the embedded PostgreSQL)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from envwatch.embedded import WRITER_ROLE
from schemas import tables
from schemas.feeds import FEEDS
from schemas.feeds.air import AirReading
from schemas.migrate import migrate
from tests.support.database import store, write

pytestmark = pytest.mark.usefixtures("timescale")
AIR = FEEDS["air"]
_spans = itertools.count()


def span() -> datetime:
    """For series longer than a test's ``window`` (10 days): 60 days of their own in 2022,
    which no other test's readings reach."""
    return datetime(2022, 1, 1, tzinfo=UTC) + timedelta(days=60 * next(_spans))


def hourly(station: str, start: datetime, hours: int, pm25: float = 30.0) -> list[AirReading]:
    return [
        AirReading(station_id=station, ts=start + timedelta(hours=h), pm25=pm25 + h % 24)
        for h in range(hours)
    ]


def chunks(db: psycopg.Connection, start: datetime, end: datetime) -> dict[str, tuple[Any, ...]]:
    """The air table's chunks overlapping [start, end): name -> (qualified name, compressed)."""
    rows = db.execute(
        "SELECT chunk_name, format('%%I.%%I', chunk_schema, chunk_name), is_compressed"
        " FROM timescaledb_information.chunks"
        " WHERE hypertable_name = %s AND range_end > %s AND range_start < %s",
        (tables.table(AIR), start, end),
    )
    return {name: (qualified, packed) for name, qualified, packed in rows}


def test_each_feed_table_is_a_hypertable_compressed_by_site_and_time(admin_db, postgres):
    for feed in FEEDS.values():
        row = admin_db.execute(
            "SELECT h.compression_enabled, d.column_name, d.time_interval = %s::interval,"
            " s.segmentby, s.orderby FROM timescaledb_information.hypertables h"
            " JOIN timescaledb_information.dimensions d USING (hypertable_schema, hypertable_name)"
            " JOIN timescaledb_information.hypertable_compression_settings s"
            "   ON s.hypertable::text = format('%%I', h.hypertable_name)"
            " WHERE h.hypertable_name = %s",
            (tables.CHUNK, tables.table(feed)),
        ).fetchone()
        keys = [c for c in tables.group_columns(feed) if c != "site_id"]
        assert row == (
            True,
            feed.time_column,
            True,
            "site_id",
            ",".join([f"{feed.time_column} DESC", *keys]),
        )
    start = span()
    store(postgres.url(WRITER_ROLE), "air", hourly("air-ts-chunks", start, 24 * 21))
    assert len(chunks(admin_db, start, start + timedelta(days=21))) >= 3


def present(station: str) -> tuple[datetime, list[AirReading]]:
    """Readings of the last three hours, two of them in the open hour; and that hour."""
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    readings = [
        AirReading(station_id=station, ts=hour - timedelta(hours=h), pm25=10.0 * (h + 1))
        for h in range(3)
    ]
    latest = max(now, hour + timedelta(microseconds=1))  # a second reading in the open hour
    return hour, [*readings, AirReading(station_id=station, ts=latest, pm25=20.0)]


def below_watermark(db: psycopg.Connection, view: str, at: datetime) -> bool:
    """Whether the aggregate's materialized rows end at or before ``at``."""
    row = db.execute(
        "SELECT _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(h.id))"
        " <= %s FROM timescaledb_information.continuous_aggregates a"
        " JOIN _timescaledb_catalog.hypertable h"
        "   ON h.table_name = a.materialization_hypertable_name WHERE a.view_name = %s",
        (at, view),
    ).fetchone()
    return row == (True,)


def test_aggregates_answer_with_the_present_before_any_refresh(scratch_url):
    """A database just migrated, no refresh run yet: every hour, and the open one, answered."""
    migrate(scratch_url)
    hour, readings = present("air-ts-present")
    assert store(scratch_url, "air", readings) == [4]
    with psycopg.connect(scratch_url, autocommit=True) as db:
        runs = db.execute(
            "SELECT coalesce(sum(s.total_runs), 0) FROM timescaledb_information.job_stats s"
            " WHERE s.hypertable_name IN ('air_hourly', 'air_daily')"
        ).fetchone()
        modes = db.execute(
            "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates"
            " WHERE view_name LIKE 'air\\_%%' ORDER BY 1"
        ).fetchall()
        got = db.execute("SELECT bucket, pm25_avg, pm25_n FROM air_hourly ORDER BY bucket")
        hours = got.fetchall()
        daily = db.execute("SELECT sum(pm25_n) FROM air_daily").fetchone()
    assert runs == (0,)
    assert modes == [("air_daily", False), ("air_hourly", False)]
    assert hours == [
        (hour - timedelta(hours=2), 30.0, 1),
        (hour - timedelta(hours=1), 20.0, 1),
        (hour, 15.0, 2),
    ]
    assert daily == (4,)


def test_the_open_hour_is_answered_whatever_was_refreshed_before(admin_db, postgres):
    """The policies end an hour back, so the open hour is always above the watermark."""
    hour, readings = present("air-ts-open-hour")
    store(postgres.url(WRITER_ROLE), "air", readings)
    assert below_watermark(admin_db, "air_hourly", hour)
    got = admin_db.execute(
        "SELECT pm25_avg, pm25_n FROM air_hourly WHERE site_id = %s AND bucket = %s",
        ("air-ts-open-hour", hour),
    ).fetchone()
    assert got == (15.0, 2)


def test_a_late_reading_of_any_age_is_aggregated_at_the_next_refresh(admin_db, postgres, window):
    station = "air-ts-late"
    store(postgres.url(WRITER_ROLE), "air", hourly(station, window, 3))
    job = admin_db.execute(
        "SELECT job_id FROM timescaledb_information.jobs WHERE hypertable_name = 'air_hourly'"
    ).fetchone()[0]
    admin_db.execute("CALL run_job(%s)", (job,))  # materialized now, well below the watermark
    late = AirReading(station_id=station, ts=window + timedelta(minutes=30), pm25=100.0)
    store(postgres.url(WRITER_ROLE), "air", [late])
    query = "SELECT pm25_n FROM air_hourly WHERE site_id = %s AND bucket = %s"
    assert admin_db.execute(query, (station, window)).fetchone() == (1,)  # not yet
    admin_db.execute("CALL run_job(%s)", (job,))
    assert admin_db.execute(query, (station, window)).fetchone() == (2,)


def test_a_compressed_chunk_still_refuses_a_duplicate(admin_db, postgres, window):
    station = "air-ts-compressed"
    first = hourly(station, window, 48)
    assert store(postgres.url(WRITER_ROLE), "air", first) == [48]
    days = (window, window + timedelta(days=2))
    for qualified, _ in chunks(admin_db, *days).values():
        admin_db.execute(
            "SELECT compress_chunk(%s::regclass, if_not_compressed => true)", (qualified,)
        )
    assert all(packed for _, packed in chunks(admin_db, *days).values())
    with pytest.raises(psycopg.errors.UniqueViolation):
        admin_db.execute(
            "INSERT INTO air_readings (site_id, ts, period, pm25) VALUES (%s, %s, '1h', 1)",
            (station, window),
        )
    more = hourly(station, window + timedelta(hours=48), 2)
    assert store(postgres.url(WRITER_ROLE), "air", first, first[:5] + more) == [0, 2]
    count = admin_db.execute(
        "SELECT count(*), sum(pm25) FROM air_readings WHERE site_id = %s", (station,)
    ).fetchone()
    assert count == (50, sum(r.pm25 for r in first + more))


def test_a_compressed_chunk_takes_an_audited_day(admin_db, postgres, window):
    station, url = "air-ts-audited", postgres.url(WRITER_ROLE)
    first = hourly(station, window, 48)
    assert store(url, "air", first) == [48]
    days = (window, window + timedelta(days=2))
    for qualified, _ in chunks(admin_db, *days).values():
        admin_db.execute(
            "SELECT compress_chunk(%s::regclass, if_not_compressed => true)", (qualified,)
        )
    assert all(packed for _, packed in chunks(admin_db, *days).values())
    audited = [
        AirReading(station_id=station, ts=r.ts, pm25=r.pm25 - 10, status="audited")
        for r in first[:24]
    ]
    (revised,) = write(url, "air", audited, offset=1000)
    assert revised.revised == tuple(range(24)) and revised.new == 0
    (again,) = write(url, "air", audited, offset=2000)
    assert again.duplicates == 24 and again.revised == ()
    rows = admin_db.execute(
        "SELECT pm25, status FROM air_readings WHERE site_id = %s ORDER BY ts", (station,)
    ).fetchall()
    assert rows == [(r.pm25, r.status) for r in audited + first[24:]]
    kept = admin_db.execute(
        "SELECT count(*), sum(pm25_old - pm25_new) FROM air_revisions WHERE site_id = %s",
        (station,),
    ).fetchone()
    assert kept == (24, 240.0)


def test_jobs_are_registered_with_the_intended_schedules(admin_db):
    def interval(text: str | None) -> Any:
        return admin_db.execute("SELECT %s::interval", (text,)).fetchone()[0]

    jobs = admin_db.execute(
        "SELECT hypertable_name, proc_name, schedule_interval,"  # a view's name for an aggregate
        " (config->>'compress_after')::interval, (config->>'drop_after')::interval,"
        " (config->>'start_offset')::interval, (config->>'end_offset')::interval"
        " FROM timescaledb_information.jobs WHERE hypertable_name IS NOT NULL AND scheduled"
    ).fetchall()
    got = {(r[0], r[1]): r[2:] for r in jobs}
    for feed in FEEDS.values():
        name = tables.table(feed)
        assert got[(name, "policy_compression")][1:2] == (interval(tables.COMPRESS_AFTER),)
        assert got[(name, "policy_retention")][2:3] == (interval(tables.KEEP),)
        for agg in tables.AGGREGATES:
            schedule, *_, start, end = got[
                (tables.aggregate(feed, agg), "policy_refresh_continuous_aggregate")
            ]
            assert (schedule, start, end) == (
                interval(agg.schedule),
                None,
                interval(agg.end_offset),
            )
    ours = {tables.table(f) for f in FEEDS.values()} | {
        tables.aggregate(f, a) for f in FEEDS.values() for a in tables.AGGREGATES
    }
    assert {relation for relation, _ in got} >= ours


def relations(plan: Any) -> set[str]:
    """Every relation an EXPLAIN (FORMAT JSON) plan reads."""
    if isinstance(plan, dict):
        found = {plan["Relation Name"]} if "Relation Name" in plan else set()
        return found.union(*(relations(v) for v in plan.values()))
    if isinstance(plan, list):
        return set().union(*(relations(v) for v in plan))
    return set()


def test_a_station_week_reads_only_that_weeks_chunks(admin_db, postgres):
    station, start = "air-ts-week", span()
    store(postgres.url(WRITER_ROLE), "air", hourly(station, start, 24 * 35))
    every = chunks(admin_db, start, start + timedelta(days=35))
    week_start = start + timedelta(days=15, hours=5)  # across a chunk boundary
    week_end = week_start + timedelta(days=7)
    query = sql.SQL(
        "EXPLAIN (FORMAT JSON) SELECT ts, pm25 FROM air_readings"
        " WHERE site_id = {} AND ts >= {} AND ts < {}"
    ).format(sql.Literal(station), sql.Literal(week_start), sql.Literal(week_end))
    plan = admin_db.execute(query).fetchone()[0]
    touched = relations(plan) & set(every)
    expected = set(chunks(admin_db, week_start, week_end))
    assert touched == expected and 1 <= len(expected) <= 2 < len(every), (touched, every)
