"""The sink on a real PostgreSQL, as the writer role: fresh readings by plain COPY into the
feed table, and batches holding readings already stored (a replay) by the conflict path, each
reading stored once, with its alert transitions in the same transaction."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from alerts.judge import AlertEvent
from envwatch.embedded import WRITER_ROLE
from schemas.feeds import FEEDS
from schemas.feeds.air import AirReading
from schemas.resent import Source
from streams.rows import row_of
from streams.sink import ReadingSink
from tests.support.database import store, write

SITE = "air-yiwu-01"


def hours(window, hours, **values) -> list[AirReading]:
    return [
        AirReading(station_id=SITE, ts=window + timedelta(hours=h), pm25=float(h), **values)
        for h in hours
    ]


def count(admin_db, window) -> int:
    row = admin_db.execute(
        "SELECT count(*) FROM air_readings WHERE site_id = %s AND ts >= %s AND ts < %s",
        (SITE, window, window + timedelta(days=5)),
    ).fetchone()
    return int(row[0])


def test_fresh_then_replayed_then_overlapping_batches(postgres, admin_db, window):
    stored = store(
        postgres.url(WRITER_ROLE),
        "air",
        hours(window, range(0, 10)),  # fresh
        hours(window, range(0, 10)),  # the same again: a replay
        hours(window, range(5, 15)),  # half stored already
        hours(window, range(20, 25)) + hours(window, range(20, 25)),  # twice within one batch
    )
    assert stored == [10, 0, 5, 5]
    assert count(admin_db, window) == 20


def test_a_replayed_batch_leaves_the_connection_usable(postgres, admin_db, window):
    # The failed COPY is rolled back to its savepoint, not the whole connection.
    batches = hours(window, range(3)), hours(window, range(3)), hours(window, [7])
    assert store(postgres.url(WRITER_ROLE), "air", *batches) == [3, 0, 1]
    assert count(admin_db, window) == 4


def test_a_reading_is_one_row_with_its_flags(postgres, admin_db, window):
    flagged = hours(window, [0], o3=80.0, flags={"pm25": "C"})
    assert store(postgres.url(WRITER_ROLE), "air", flagged) == [1]
    row = admin_db.execute(
        "SELECT period, pm25, o3, co, flags FROM air_readings WHERE site_id = %s AND ts = %s",
        (SITE, window),
    ).fetchall()
    assert row == [("1h", 0.0, 80.0, None, {"pm25": "C"})]


def event(window, n: int) -> AlertEvent:
    return AlertEvent(
        condition="AirAqiHigh",
        feed="air",
        site=SITE,
        county="330782",
        parameter="aqi",
        severity="warning",
        transition="firing",
        at=window + timedelta(hours=n),
        value=160.0,
        limit=150.0,
        edition="hj633-2012",
    )


def test_transitions_are_stored_with_the_readings_and_by_a_transitions_only_sink(
    postgres, admin_db, window
):
    async def run() -> list[int]:
        readings = ReadingSink(postgres.url(WRITER_ROLE), FEEDS["air"])
        city = ReadingSink(postgres.url(WRITER_ROLE), None)
        try:
            rows = [row_of("air", r) for r in hours(window, range(2))]
            origins = [Source("test.air", 0, n) for n in range(2)]
            stored = [(await readings.write(rows, [event(window, 0)], origins)).new]
            again = await readings.write(rows, [event(window, 0), event(window, 1)], origins)
            stored.append(again.new)
            stored.append((await city.write((), [event(window, 2)])).new)
            with pytest.raises(ValueError, match="alert transitions only"):
                await city.write(rows, origins=origins)
            return stored
        finally:
            await readings.close()
            await city.close()

    assert asyncio.run(run()) == [2, 0, 0]
    history = admin_db.execute(
        "SELECT at FROM alert_history WHERE site_id = %s AND at >= %s AND at < %s ORDER BY at",
        (SITE, window, window + timedelta(days=5)),
    ).fetchall()
    assert [at for (at,) in history] == [window + timedelta(hours=n) for n in range(3)]
    assert count(admin_db, window) == 2


# --- A reading sent again for a stored key: duplicate, conflict, fill, revision ---------------


def day(window, pm25: float, **fields) -> list[AirReading]:
    """A station's PM2.5 day: 24 hourly readings."""
    return [
        AirReading(station_id=SITE, ts=window + timedelta(hours=h), pm25=pm25 + h, **fields)
        for h in range(1, 25)
    ]


def revisions(admin_db, window) -> list[tuple]:
    return admin_db.execute(
        "SELECT ts, pm25_old, pm25_new, status_old, status_new, received_at_old,"
        " received_at_new, source_topic, source_partition, source_offset FROM air_revisions"
        " WHERE site_id = %s AND ts >= %s AND ts < %s ORDER BY ts, received_at_new",
        (SITE, window, window + timedelta(days=5)),
    ).fetchall()


def stored_day(admin_db, window) -> list[tuple]:
    return admin_db.execute(
        "SELECT pm25, status, received_at FROM air_readings"
        " WHERE site_id = %s AND ts > %s AND ts <= %s + interval '1 day' ORDER BY ts",
        (SITE, window, window),
    ).fetchall()


def test_an_audited_day_replaces_the_preliminary_one_and_keeps_each_hour_as_a_revision(
    postgres, admin_db, window
):
    url = postgres.url(WRITER_ROLE)
    (first,) = write(url, "air", day(window, 80.0), offset=0)
    before = stored_day(admin_db, window)
    (audited,) = write(url, "air", day(window, 30.0, status="audited"), offset=24)
    assert (first.new, audited.new, audited.duplicates) == (24, 0, 0)
    assert audited.revised == tuple(range(24)) and audited.conflicts == ()
    after = stored_day(admin_db, window)
    assert [(pm25, status) for pm25, status, _ in after] == [
        (30.0 + h, "audited") for h in range(1, 25)
    ]
    assert all(new > old for (_, _, new), (_, _, old) in zip(after, before, strict=True))
    kept = revisions(admin_db, window)
    assert len(kept) == 24
    for h, (ts, old, new, s_old, s_new, r_old, r_new, topic, partition, offset) in enumerate(
        kept, start=1
    ):
        assert (ts, old, new, s_old, s_new) == (
            window + timedelta(hours=h),
            80.0 + h,
            30.0 + h,
            "preliminary",
            "audited",
        )
        assert (r_old, r_new) == (before[h - 1][2], after[h - 1][2])
        assert (topic, partition, offset) == ("test.air", 0, 24 + h - 1)

    # Delivered twice: again at other offsets (a re-sent file), and replayed from the same
    # offsets with the preliminary day before it (a worker killed before its commit).
    again = write(url, "air", day(window, 30.0, status="audited"), offset=100)
    replay = write(url, "air", day(window, 80.0), day(window, 30.0, status="audited"), offset=0)
    assert [(w.duplicates, w.revised, w.conflicts) for w in [*again, *replay]] == [(24, (), ())] * 3
    assert len(revisions(admin_db, window)) == 24
    assert stored_day(admin_db, window) == after


def test_a_resent_preliminary_reading_is_a_duplicate_a_conflict_or_a_fill(
    postgres, admin_db, window
):
    url = postgres.url(WRITER_ROLE)
    hour = window + timedelta(hours=1)
    first = [
        AirReading(station_id=SITE, ts=hour, pm25=40.0, flags={"pm25": "N"}),
        AirReading(station_id=SITE, ts=hour + timedelta(hours=1), pm25=41.0),
    ]
    later = [
        AirReading(station_id=SITE, ts=hour, pm25=40.0, flags={"pm25": "N"}),  # identical
        AirReading(station_id=SITE, ts=hour + timedelta(hours=1), pm25=45.0),  # conflicting
        AirReading(station_id=SITE, ts=hour + timedelta(hours=1), pm25=41.0, o3=90.0),  # fills
        AirReading(station_id=SITE, ts=hour + timedelta(hours=2), pm25=42.0),  # new
    ]
    stored, resent = write(url, "air", first, later)
    received = admin_db.execute(
        "SELECT received_at FROM air_readings WHERE site_id = %s AND ts = %s",
        (SITE, hour + timedelta(hours=1)),
    ).fetchone()[0]
    assert stored.new == 2
    assert (resent.new, resent.filled, resent.duplicates, resent.revised) == (1, 1, 1, ())
    (conflict,) = resent.conflicts
    assert conflict.index == 1
    assert "pm25 stored 41.0, this reading 45.0" in conflict.reason
    assert f"stored at {received.isoformat()}" in conflict.reason
    rows = admin_db.execute(
        "SELECT ts, pm25, o3, flags, status, received_at = %s FROM air_readings"
        " WHERE site_id = %s AND ts >= %s AND ts < %s ORDER BY ts",
        (received, SITE, hour, hour + timedelta(hours=3)),
    ).fetchall()
    assert rows == [
        (hour, 40.0, None, {"pm25": "N"}, "preliminary", True),  # the first batch's
        (hour + timedelta(hours=1), 41.0, 90.0, None, "preliminary", True),  # filled: as it was
        (hour + timedelta(hours=2), 42.0, None, None, "preliminary", False),  # the second's
    ]
    assert revisions(admin_db, window) == []
