"""The database goes away during a push: nothing is committed past what is stored, nothing lost."""

from __future__ import annotations

import time
from datetime import timedelta

import orjson

from tests.support.services import committed, producer, wait_until

STATION = "air-lanxi-01"


def send_hours(settings, window, first: int, count: int) -> None:
    out = producer(settings)
    for h in range(first, first + count):
        reading = {
            "station_id": STATION,
            "ts": (window + timedelta(hours=h)).isoformat(),
            "pm25": 50.0,
            "o3": 80.0,
        }
        out.send(settings.topic("air"), key=STATION.encode(), value=orjson.dumps(reading))
    out.flush()
    out.close()


def count(db, window) -> int:
    row = db.execute(
        "SELECT count(*) FROM air_readings WHERE site_id = %s AND ts >= %s AND ts < %s",
        (STATION, window, window + timedelta(days=10)),
    ).fetchone()
    return int(row[0])


def test_database_outage_holds_offsets_and_loses_nothing(
    settings, start_worker, postgres, admin_db, window
):
    worker = start_worker(settings)
    send_hours(settings, window, 0, 50)
    wait_until(lambda: count(admin_db, window) == 50, 60, "the first 50 readings")
    wait_until(lambda: committed(settings) == 50, 30, "offsets of the stored readings")

    admin_db.close()
    postgres.stop()
    try:
        send_hours(settings, window, 50, 150)
        wait_until(
            lambda: worker.metric("envwatch_db_write_errors_total") > 0,
            30,
            "the worker to notice the outage",
        )
        time.sleep(3)  # several commit intervals while the database is down
        assert committed(settings) == 50, "an offset was committed for an unwritten reading"
        assert worker.metric("envwatch_rows_written_total") == 50
    finally:
        postgres.start()

    import psycopg

    with psycopg.connect(postgres.url(), autocommit=True) as db:
        wait_until(lambda: count(db, window) == 200, 60, "every reading after the outage")
        wait_until(lambda: committed(settings) == 200, 30, "offsets to catch up")
        assert count(db, window) == 200
