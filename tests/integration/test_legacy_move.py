"""Migration 009 on a real PostgreSQL: a database of the old layout, its rows written first,
then migrated; every old value lands in its feed table, once, and ``readings`` stays, read-only.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from envwatch.embedded import WRITER_ROLE
from schemas import tables
from schemas.feed import Reading
from schemas.feeds import FEEDS
from schemas.feeds.air import AirReading
from schemas.feeds.energy import EnergyReading
from schemas.feeds.water import WaterReading
from schemas.migrate import MigrationError, migrate, move_legacy_readings
from streams.rows import rows_of

START = datetime(2025, 3, 1, tzinfo=UTC)


def old_readings() -> list[tuple[str, Reading]]:
    """Readings of every feed as the old worker stored them, with the awkward cases: an air
    station's hourly and 24-hour values at one time, a reading whose pollutants came in two
    messages, water's ``as``, energy's period end, a value not measured."""
    out: list[tuple[str, Reading]] = []
    for n, station in enumerate(("air-yiwu-01", "air-lanxi-01", "air-wucheng-01")):
        for h in range(30):
            ts = START + timedelta(hours=h)
            co = None if h % 7 == 0 else 0.5 + n / 10
            out.append(("air", AirReading(station_id=station, ts=ts, pm25=20.0 + h, co=co)))
            out.append(("air", AirReading(station_id=station, ts=ts, o3=60.0 + h + n)))
        out.append(("air", AirReading(station_id=station, ts=START, period="24h", pm25=44.0)))
    for section in ("wq-hengjin-01", "wq-jinhua-02"):
        for h in range(0, 40, 4):
            ts = START + timedelta(hours=h)
            out.append(("water", WaterReading(section_id=section, ts=ts, do=6.0, arsenic=0.01)))
    for unit in ("eu-001", "eu-002"):
        for d in range(5):
            start = START + timedelta(days=d)
            reading = EnergyReading(
                unit_id=unit,
                period_start=start,
                period_end=start + timedelta(days=1),
                electricity_kwh=1000.0 * (d + 1),
                output_10k_yuan=30.0,
            )
            out.append(("energy", reading))
    return out


def expected(readings: list[tuple[str, Reading]]) -> dict[str, dict[tuple[Any, ...], dict]]:
    """Per feed: key -> the values of the one row its old rows make."""
    rows: dict[str, dict[tuple[Any, ...], dict]] = defaultdict(lambda: defaultdict(dict))
    for feed_name, reading in readings:
        feed = FEEDS[feed_name]
        row = {c.name: getattr(reading, c.attr) for c in feed.columns if c.kind != "flags"}
        key = tuple(row[c] for c in tables.unique_key(feed))
        rows[feed_name][key] |= {name: v for name, v in row.items() if v is not None}
    return rows


def feed_rows(db: psycopg.Connection, feed_name: str) -> dict[tuple[Any, ...], dict]:
    feed = FEEDS[feed_name]
    key = tables.unique_key(feed)
    names = [c.name for c in feed.columns if c.kind != "flags"]
    cur = db.execute(
        sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(map(sql.Identifier, names)), sql.Identifier(tables.table(feed))
        )
    )
    out = {}
    for row in cur:
        values = {n: v for n, v in zip(names, row, strict=True) if v is not None}
        out[tuple(values[k] for k in key)] = values
    return out


@pytest.fixture
def old_database(scratch_url: str) -> str:
    """A database at version 007 (before the feed tables), holding the old rows."""
    migrate(scratch_url, upto=7)
    rows = [row for feed, reading in old_readings() for row in rows_of(feed, reading)]
    with psycopg.connect(scratch_url) as db, db.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (ts, feed, site_id, parameter, value, ts_end)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            rows,
        )
    return scratch_url


def test_every_old_value_lands_in_its_feed_table_once(old_database):
    old = expected(old_readings())
    with psycopg.connect(old_database, autocommit=True) as db:
        count_before = db.execute("SELECT count(*) FROM readings").fetchone()
        assert max(v for (v,) in db.execute("SELECT version FROM schema_migrations")) < 8
    applied = migrate(old_database)
    assert applied[0] == "008_readings_read_only.sql"  # read-only before its rows move
    assert applied.index("air_readings") < applied.index("009_readings_to_feed_tables")
    with psycopg.connect(old_database, autocommit=True) as db:
        for feed in FEEDS:
            assert feed_rows(db, feed) == old[feed], feed
        # 3 stations x (30 hourly readings + one 24-hour mean): pollutants from two messages
        # are one reading; the water and energy readings one each.
        assert sum(len(old[f]) for f in FEEDS) == 3 * 31 + 2 * 10 + 2 * 5
        assert db.execute("SELECT count(*) FROM readings").fetchone() == count_before
        hourly = db.execute(
            "SELECT sum(pm25_n), sum(o3_n), sum(co_n) FROM air_daily WHERE period = '1h'"
        ).fetchone()
        assert hourly == (90, 90, 90 - 3 * 5)  # co not measured at h = 0, 7, 14, 21, 28
        received = db.execute("SELECT sum(extract(epoch FROM received_at)) FROM air_readings")
        before = received.fetchone()

        assert move_legacy_readings(db, FEEDS.values()) == 0  # again: nothing to write
        assert migrate(old_database) == []
        for feed in FEEDS:
            assert feed_rows(db, feed) == old[feed], feed
        received = db.execute("SELECT sum(extract(epoch FROM received_at)) FROM air_readings")
        assert received.fetchone() == before


def test_a_move_that_stopped_halfway_fills_what_is_missing(old_database):
    migrate(old_database)
    with psycopg.connect(old_database, autocommit=True) as db:
        db.execute("DELETE FROM water_readings WHERE site_id = 'wq-jinhua-02'")
        db.execute(
            "UPDATE air_readings SET o3 = NULL WHERE site_id = 'air-lanxi-01' AND ts = %s", (START,)
        )
        assert move_legacy_readings(db, FEEDS.values()) == 10 + 1
        old = expected(old_readings())
        for feed in FEEDS:
            assert feed_rows(db, feed) == old[feed], feed


def test_the_old_table_is_read_only(old_database):
    migrate(old_database)
    with psycopg.connect(make_conninfo(old_database, user=WRITER_ROLE)) as writer:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            writer.execute(
                "INSERT INTO readings (ts, feed, site_id, parameter, value)"
                " VALUES (now(), 'air', 'air-yiwu-01', 'pm25_1h', 1)"
            )
        writer.rollback()
        assert writer.execute("SELECT count(*) FROM readings").fetchone()[0] > 0


def test_values_it_cannot_place_or_that_differ_stop_it_naming_them(old_database):
    migrate(old_database)
    with psycopg.connect(old_database, autocommit=True) as db:
        db.execute(
            "UPDATE air_readings SET pm25 = -1"
            " WHERE site_id = 'air-yiwu-01' AND ts = %s AND period = '1h'",
            (START,),
        )
        with pytest.raises(
            MigrationError,
            match=r"differ from the reading stored at their key: 1.*air-yiwu-01.*pm25_1h",
        ):
            move_legacy_readings(db, FEEDS.values())
        db.execute("ALTER TABLE readings DROP CONSTRAINT readings_feed_check")
        db.execute(
            "INSERT INTO readings (ts, feed, site_id, parameter, value)"
            " VALUES (%s, 'air', 'air-yiwu-01', 'pm1_1h', 3), (%s, 'noise', 'n-1', 'db', 60)",
            (START, START),
        )
        with pytest.raises(MigrationError, match=r"cannot place.*'air': \['pm1_1h'\]"):
            move_legacy_readings(db, FEEDS.values())
