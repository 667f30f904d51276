"""The sink on a real PostgreSQL, as the writer role: fresh rows by plain COPY, and batches
holding readings already stored (a replay) by the staging path, each reading stored once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from envwatch.embedded import WRITER_ROLE
from streams.sink import ReadingSink

SITE = "air-yiwu-01"


def rows(window, hours: range):
    return [(window + timedelta(hours=h), "air", SITE, "pm25_1h", float(h), None) for h in hours]


def write(postgres, *batches) -> list[int]:
    async def run() -> list[int]:
        sink = ReadingSink(postgres.url(WRITER_ROLE))
        try:
            return [await sink.write(batch) for batch in batches]
        finally:
            await sink.close()

    return asyncio.run(run())


def count(admin_db, window) -> int:
    row = admin_db.execute(
        "SELECT count(*) FROM readings WHERE site_id = %s AND ts >= %s AND ts < %s",
        (SITE, window, window + timedelta(days=5)),
    ).fetchone()
    return int(row[0])


def test_fresh_then_replayed_then_overlapping_batches(postgres, admin_db, window):
    stored = write(
        postgres,
        rows(window, range(0, 10)),  # fresh
        rows(window, range(0, 10)),  # the same again: a replay
        rows(window, range(5, 15)),  # half stored already
        rows(window, range(20, 25)) + rows(window, range(20, 25)),  # twice within one batch
    )
    assert stored == [10, 0, 5, 5]
    assert count(admin_db, window) == 20


def test_a_replayed_batch_leaves_the_connection_usable(postgres, admin_db, window):
    # The failed COPY is rolled back to its savepoint, not the whole connection.
    stored = write(postgres, rows(window, range(3)), rows(window, range(3)), rows(window, [7]))
    assert stored == [3, 0, 1]
    assert count(admin_db, window) == 4
