"""Batched, idempotent writes of one feed's readings to PostgreSQL, retried until they succeed.

A batch goes by binary COPY straight into ``<feed>_readings`` (one row per reading), in a
savepoint. A reading delivered twice (at-least-once consumption: a replay after a restart, a
re-sent file) breaks the unique key; then the savepoint is rolled back and the batch takes the
conflict path: COPY into a per-connection staging table, and ``INSERT ... ON CONFLICT DO
NOTHING`` into the feed table, which returns the key of each reading it stored, so the rest of
the batch is known to be held already. Either way no reading makes a second row, and fresh
data, by far the common case, is written at the speed of a plain COPY. Alert transitions go to
``alert_history`` in the same transaction. A failed write is retried with backoff for as long
as it takes; the caller counts its records as stored only after :meth:`write` returns, so a
database outage holds the stream back instead of dropping readings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from alerts.judge import AlertEvent
from schemas import tables
from schemas.feed import Feed
from streams.rows import Row

log = logging.getLogger(__name__)

_HISTORY = """
INSERT INTO alert_history (at, condition, feed, site_id, county, parameter, severity,
                           transition, value, limit_value, edition)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT ON CONSTRAINT alert_history_unique DO NOTHING
"""


class ReadingSink:
    """One feed's writes on one connection, reopened whenever it breaks; one write at a time.

    With ``feed`` None it stores alert transitions only (the city targets' agent).
    """

    def __init__(
        self,
        url: str,
        feed: Feed | None,
        retry_max_s: float = 10.0,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._url = url
        self._feed = feed
        self._retry_max_s = retry_max_s
        self._on_error = on_error
        self._conn: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()
        if feed is not None:
            self._types = tables.copy_types(feed)
            self._copy = tables.copy(feed, tables.table(feed)).as_string()
            self._copy_stage = tables.copy(feed, tables.stage(feed)).as_string()
            self._insert_staged = tables.insert_staged(feed).as_string()

    async def write(self, rows: Sequence[Row], transitions: Sequence[AlertEvent] = ()) -> int:
        """Store rows (in ``Feed.columns`` order, as ``Feed.row_of`` makes them) and alert
        transitions together; returns how many rows were new.

        Never gives up: retries with backoff.
        """
        if not rows and not transitions:
            return 0
        delay = 0.2
        async with self._lock:
            while True:
                try:
                    return await self._write_once(rows, transitions)
                except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
                    log.warning("database write failed (%s); retrying in %.1f s", exc, delay)
                    if self._on_error is not None:
                        self._on_error(exc)
                    await self._discard()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._retry_max_s)

    async def _write_once(self, rows: Sequence[Row], transitions: Sequence[AlertEvent]) -> int:
        conn = await self._connection()
        async with conn.transaction(), conn.cursor() as cur:
            stored = await self._store(conn, cur, rows) if rows else 0
            if transitions:
                await cur.executemany(_HISTORY, [_history(t) for t in transitions])
            return stored

    async def _store(
        self, conn: psycopg.AsyncConnection, cur: psycopg.AsyncCursor, rows: Sequence[Row]
    ) -> int:
        if self._feed is None:
            raise ValueError("this sink stores alert transitions only; construct it with a feed")
        try:
            async with conn.transaction():  # a savepoint
                await _copy(cur, self._copy, self._types, rows)
            return len(rows)
        except psycopg.errors.UniqueViolation:
            return len(await self._store_new(cur, rows))

    async def _store_new(self, cur: psycopg.AsyncCursor, rows: Sequence[Row]) -> list[Any]:
        """The conflict path: the readings of the batch not stored yet; returns their keys."""
        await _copy(cur, self._copy_stage, self._types, rows)
        await cur.execute(self._insert_staged)
        return await cur.fetchall()

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            started = time.monotonic()
            self._conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
            if self._feed is not None:
                await self._conn.execute(tables.create_stage(self._feed))
            log.info("database connected in %.2f s", time.monotonic() - started)
        return self._conn

    async def _discard(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            except Exception:  # the connection is already broken; nothing to save
                log.debug("closing a broken connection failed", exc_info=True)
            self._conn = None

    async def close(self) -> None:
        await self._discard()


def _history(t: AlertEvent) -> tuple[Any, ...]:
    return (
        t.at,
        t.condition,
        t.feed,
        t.site,
        t.county,
        t.parameter,
        t.severity,
        t.transition,
        t.value,
        t.limit,
        t.edition or None,
    )


async def _copy(
    cur: psycopg.AsyncCursor, statement: str, types: Sequence[str], rows: Sequence[Row]
) -> None:
    async with cur.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            await copy.write_row(row)
