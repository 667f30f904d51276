"""Migrations, the feed tables and their aggregates, and the two roles, on a real PostgreSQL
(the embedded one, or the server of ENVWATCH_TEST_DATABASE_URL, either path)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from envwatch.embedded import READER_ROLE, WRITER_ROLE
from schemas import tables
from schemas.feed import Feed
from schemas.feeds import FEEDS
from schemas.feeds.air import AirReading
from schemas.feeds.water import WaterReading
from schemas.fields import Ug
from schemas.migrate import (
    SQL_DIR,
    apply_feed_schema,
    migrate,
    move_legacy_readings,
    plan,
    timescale_available,
)
from tests.support.database import refresh_aggregates, store

CITY = ZoneInfo(tables.CITY_TZ)


def columns(db: psycopg.Connection, relation: str) -> list[str]:
    cur = db.execute(f'SELECT * FROM "{relation}" LIMIT 0')
    return [c.name for c in cur.description or []]


def test_migrations_run_twice_and_every_step_is_idempotent(postgres, admin_db):
    assert migrate(postgres.url()) == []  # the session fixture applied them already
    steps = plan(timescale_available(admin_db))
    for step in steps:
        if step.path is not None:
            admin_db.execute(step.path.read_text(encoding="utf-8").encode())
    assert apply_feed_schema(admin_db, FEEDS.values(), timescale_available(admin_db)) == []
    move_legacy_readings(admin_db, FEEDS.values())
    assert migrate(postgres.url()) == []
    versions = [v for (v,) in admin_db.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [s.version for s in steps]


def test_both_paths_have_the_same_steps():
    plain, timescale = plan(timescale=False), plan(timescale=True)
    assert [s.version for s in plain] == [s.version for s in timescale]
    plain_files = {s.path.name for s in plain if s.path is not None}
    timescale_files = {s.path.name for s in timescale if s.path is not None}
    assert not any(".timescale." in name for name in plain_files)
    assert any(".timescale." in name for name in timescale_files)
    assert {p.name for p in SQL_DIR.glob("*.sql")} >= plain_files | timescale_files
    assert [s.version for s in plain if s.path is None] == [9]  # generated from the registry


@pytest.mark.parametrize("feed", FEEDS.values(), ids=FEEDS.keys())
def test_each_feed_has_its_table_and_aggregates_with_the_registry_columns(admin_db, feed):
    assert columns(admin_db, tables.table(feed)) == tables.table_columns(feed)
    for agg in tables.AGGREGATES:
        assert columns(admin_db, tables.aggregate(feed, agg)) == tables.aggregate_columns(feed)
    key = admin_db.execute(
        "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_constraint c"
        " CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)"
        " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum"
        " WHERE c.conrelid = %s::regclass AND c.contype = 'u'",
        (tables.table(feed),),
    ).fetchone()
    assert key is not None and tuple(key[0]) == tables.unique_key(feed)


def test_aggregates_count_valid_values_only_and_keep_periods_apart(postgres, admin_db, window):
    site = "wq-hengjin-01"
    samples = [
        WaterReading(
            section_id=site,
            ts=window + timedelta(minutes=10 * i),
            do=5.0 + i,
            ph=7.0,
            flags={"do": ["N", "S", "M", "C"][i % 4]} if i % 3 == 0 else None,
        )
        for i in range(12)
    ]
    assert store(postgres.url(WRITER_ROLE), "water", samples) == [12]
    refresh_aggregates(admin_db, window, window + timedelta(hours=2))
    # Flags on i = 0 (N), 3 (C), 6 (M), 9 (S): 3 and 6 are invalid, and only for do.
    valid = [[5.0 + i for i in range(h * 6, h * 6 + 6) if i not in (3, 6)] for h in (0, 1)]
    hourly = admin_db.execute(
        "SELECT do_avg, do_min, do_max, do_n, ph_n FROM water_hourly"
        " WHERE site_id = %s AND bucket >= %s AND bucket < %s + interval '1 day' ORDER BY bucket",
        (site, window, window),
    ).fetchall()
    assert hourly == [(sum(v) / len(v), min(v), max(v), len(v), 6) for v in valid]
    day = window.astimezone(CITY).replace(hour=0)
    daily = admin_db.execute(
        "SELECT bucket, do_n, ph_n, cod_n, cod_avg FROM water_daily WHERE site_id = %s"
        " AND bucket >= %s - interval '1 day' AND bucket < %s + interval '1 day'",
        (site, window, window),
    ).fetchall()
    assert daily == [(day, 10, 12, 0, None)]

    station = "air-yiwu-01"
    hour = [AirReading(station_id=station, ts=window, pm25=40.0)]
    day_mean = [AirReading(station_id=station, ts=window, period="24h", pm25=70.0)]
    assert store(postgres.url(WRITER_ROLE), "air", hour, day_mean) == [1, 1]
    refresh_aggregates(admin_db, window, window + timedelta(hours=1))
    air = admin_db.execute(
        "SELECT period, pm25_avg, pm25_n, o3_n FROM air_hourly WHERE site_id = %s"
        " AND bucket = %s ORDER BY period",
        (station, window),
    ).fetchall()
    assert air == [("1h", 40.0, 1, 0), ("24h", 70.0, 1, 0)]


class AirWithPm1(AirReading, kw_only=True):
    """The air feed as it would be with one quantity more."""

    pm1: Ug | None = None


def test_a_quantity_added_to_a_feed_gets_its_column_and_aggregates(scratch_url, window):
    migrate(scratch_url)
    air: Feed = dataclasses.replace(FEEDS["air"], reading=AirWithPm1)
    before = store(scratch_url, "air", [AirReading(station_id="s1", ts=window, pm25=10.0)])
    feeds = [air, FEEDS["water"], FEEDS["energy"]]
    assert migrate(scratch_url, feeds) == [
        "air_readings.pm1",
        "air_revisions.pm1_old",
        "air_revisions.pm1_new",
        "air_hourly",
        "air_daily",
    ]
    assert migrate(scratch_url, feeds) == []
    with psycopg.connect(scratch_url, autocommit=True) as db:
        assert columns(db, "air_readings")[-2:] == ["received_at", "pm1"]
        assert columns(db, "air_hourly") == tables.aggregate_columns(air)
        db.execute(
            "INSERT INTO air_readings (site_id, ts, period, pm1)"
            " VALUES ('s1', %s + interval '1 minute', '1h', 4)",
            (window,),
        )
        refresh_aggregates(db, window, window + timedelta(hours=1))
        got = db.execute(
            "SELECT pm25_n, pm1_avg, pm1_n FROM air_hourly WHERE site_id = 's1' AND bucket = %s",
            (window,),
        ).fetchone()
    assert before == [1] and got == (1, 4.0, 1)


def test_a_table_made_before_the_status_field_gets_its_column_and_revisions(scratch_url, window):
    """A database of the previous release: the feed table without ``status``, no revisions.
    Its rows were preliminary data, and read so once the column is added."""
    migrate(scratch_url)
    with psycopg.connect(scratch_url, autocommit=True) as db:
        db.execute("ALTER TABLE air_readings DROP COLUMN status")
        db.execute("DROP TABLE air_revisions")
        db.execute(
            "INSERT INTO air_readings (site_id, ts, period, pm25) VALUES ('s1', %s, '1h', 10)",
            (window,),
        )
    assert migrate(scratch_url) == ["air_readings.status", "air_revisions"]
    assert migrate(scratch_url) == []
    with psycopg.connect(scratch_url, autocommit=True) as db:
        before = [c for c in tables.table_columns(FEEDS["air"]) if c != "status"]
        assert columns(db, "air_readings") == [*before, "status"]  # added last
        row = db.execute("SELECT pm25, status FROM air_readings WHERE site_id = 's1'").fetchone()
        assert columns(db, "air_revisions") == tables.revision_columns(FEEDS["air"])
    assert row == (10.0, "preliminary")


def test_reader_cannot_write_and_writer_cannot_change_the_schema(postgres):
    with psycopg.connect(postgres.url(READER_ROLE)) as reader:
        assert reader.execute("SELECT count(*) FROM air_daily").fetchone() is not None
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute("INSERT INTO air_readings (site_id, ts) VALUES ('x', now())")
    with psycopg.connect(postgres.url(WRITER_ROLE)) as writer:
        for statement in (
            "CREATE TABLE intruder (x int)",
            "DROP TABLE air_readings",
            "DELETE FROM air_readings",
            "UPDATE air_revisions SET pm25_new = 0",  # the revisions are kept as made
            "DELETE FROM air_revisions",
            "INSERT INTO readings (ts, feed, site_id, parameter, value)"
            " VALUES (now(), 'air', 'x', 'pm25_1h', 1)",  # the old table is read-only now
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                writer.execute(statement)
            writer.rollback()
        assert writer.execute("SELECT count(*) FROM readings").fetchone() is not None
