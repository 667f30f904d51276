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
from streams.rows import row_of
from streams.sink import ReadingSink
from tests.support.database import store

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
            stored = [await readings.write(rows, [event(window, 0)])]
            stored.append(await readings.write(rows, [event(window, 0), event(window, 1)]))
            stored.append(await city.write((), [event(window, 2)]))
            with pytest.raises(ValueError, match="alert transitions only"):
                await city.write(rows)
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
