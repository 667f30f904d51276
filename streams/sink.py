"""Batched, idempotent writes of readings to PostgreSQL, retried until they succeed.

Rows go by binary COPY straight into ``readings``, in a savepoint. A reading delivered
twice (at-least-once consumption: a replay after a restart, a re-sent file) breaks the unique
key; then the savepoint is rolled back and the batch takes the slow path: COPY into a
per-connection staging table, and ``INSERT ... ON CONFLICT DO NOTHING`` into ``readings``.
Either way no reading makes a second row, and fresh data, by far the common case, is written
at the speed of a plain COPY. A failed write is retried with backoff
for as long as it takes; the caller counts its records as stored only after :meth:`write`
returns, so a database outage holds the stream back instead of dropping readings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

import psycopg

from alerts.judge import AlertEvent
from streams.rows import Row

log = logging.getLogger(__name__)

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS readings_stage
    (ts timestamptz, feed text, site_id text, parameter text, value double precision,
     ts_end timestamptz) ON COMMIT DELETE ROWS
"""
_COLUMNS = "(ts, feed, site_id, parameter, value, ts_end) FROM STDIN (FORMAT BINARY)"
_COPY = f"COPY readings {_COLUMNS}"
_COPY_STAGE = f"COPY readings_stage {_COLUMNS}"
_MOVE = """
INSERT INTO readings (ts, feed, site_id, parameter, value, ts_end)
SELECT ts, feed, site_id, parameter, value, ts_end FROM readings_stage
ON CONFLICT ON CONSTRAINT readings_unique DO NOTHING
"""
_TYPES = ("timestamptz", "text", "text", "text", "float8", "timestamptz")
_HISTORY = """
INSERT INTO alert_history (at, condition, feed, site_id, county, parameter, severity,
                           transition, value, limit_value, edition)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT ON CONSTRAINT alert_history_unique DO NOTHING
"""


class ReadingSink:
    """One connection, reopened whenever it breaks; one write at a time."""

    def __init__(
        self,
        url: str,
        retry_max_s: float = 10.0,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._url = url
        self._retry_max_s = retry_max_s
        self._on_error = on_error
        self._conn: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def write(self, rows: Sequence[Row], transitions: Sequence[AlertEvent] = ()) -> int:
        """Store rows and alert transitions together; returns how many rows were new.

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
            try:
                async with conn.transaction():  # a savepoint
                    await _copy(cur, _COPY, rows)
                stored = len(rows)
            except psycopg.errors.UniqueViolation:
                await _copy(cur, _COPY_STAGE, rows)
                await cur.execute(_MOVE)
                stored = cur.rowcount
            if transitions:
                history = [
                    (
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
                    for t in transitions
                ]
                await cur.executemany(_HISTORY, history)
            return stored

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            started = time.monotonic()
            self._conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
            await self._conn.execute(_STAGE)
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


async def _copy(cur: psycopg.AsyncCursor, statement: str, rows: Sequence[Row]) -> None:
    if rows:
        async with cur.copy(statement) as copy:
            copy.set_types(_TYPES)
            for row in rows:
                await copy.write_row(row)
