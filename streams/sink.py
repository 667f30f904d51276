"""Batched, idempotent writes of one feed's readings to PostgreSQL, retried until they succeed.

A batch goes by binary COPY straight into ``<feed>_readings`` (one row per reading), in a
savepoint. A reading sent again for a key already stored (at-least-once consumption: a replay
after a restart, a re-sent file; or a correction, an audited reading) breaks the unique key;
then the savepoint is rolled back and the batch takes the conflict path: the stored rows at
the batch's keys are read, each reading is decided against them (``schemas/resent.py``: a
duplicate, a fill, a conflict or a revision), the new readings go in by COPY, the filled and
revised rows are set, and each row an audited reading replaced is kept in ``<feed>_revisions``
with the origin of that reading. Either way no reading makes a second row, and fresh data, by
far the common case, is written at the speed of a plain COPY. Alert transitions go to
``alert_history`` in the same transaction. A failed write is retried with backoff for as long
as it takes; the caller counts its records as stored only after :meth:`write` returns, so a
database outage holds the stream back instead of dropping readings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from alerts.judge import AlertEvent
from schemas import tables
from schemas.feed import Feed
from schemas.fields import AUDITED
from schemas.resent import Applied, Conflict, Layout, Origin, Resolution, Stored, resolve
from streams.rows import Row

log = logging.getLogger(__name__)

_HISTORY = """
INSERT INTO alert_history (at, condition, feed, site_id, county, parameter, severity,
                           transition, value, limit_value, edition)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT ON CONSTRAINT alert_history_unique DO NOTHING
"""


@dataclass(frozen=True)
class Written:
    """What a batch did: readings stored as new rows, filled into stored rows, that replaced
    stored rows (their indices in the batch), refused as conflicts, or already held."""

    new: int = 0
    filled: int = 0
    revised: tuple[int, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    duplicates: int = 0


NOTHING = Written()
RACES = 3  # conflict paths tried before giving up (another writer storing the same keys)


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
            self._layout = Layout(feed)
            self._time = tables.unique_key(feed).index(feed.time_column)  # in a key
            self._copy = tables.copy(feed).as_string()
            self._select = tables.select_stored(feed).as_string()
            self._applied_sql = tables.select_applied(feed).as_string()
            self._update = tables.update_stored(feed).as_string()
            self._revise = tables.insert_revision(feed).as_string()

    async def write(
        self,
        rows: Sequence[Row],
        transitions: Sequence[AlertEvent] = (),
        origins: Sequence[Origin] = (),
    ) -> Written:
        """Store rows (in ``Feed.columns`` order, as ``Feed.row_of`` makes them) and alert
        transitions together; ``origins`` says where each row came from (a revision keeps
        it). Returns what the rows did.

        Never gives up: retries with backoff.
        """
        if not rows and not transitions:
            return NOTHING
        if rows and len(origins) != len(rows):
            raise ValueError(f"{len(rows)} rows need as many origins, got {len(origins)}")
        delay = 0.2
        async with self._lock:
            while True:
                try:
                    return await self._write_once(rows, transitions, origins)
                except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
                    log.warning("database write failed (%s); retrying in %.1f s", exc, delay)
                    if self._on_error is not None:
                        self._on_error(exc)
                    await self._discard()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._retry_max_s)

    async def _write_once(
        self, rows: Sequence[Row], transitions: Sequence[AlertEvent], origins: Sequence[Origin]
    ) -> Written:
        conn = await self._connection()
        async with conn.transaction(), conn.cursor() as cur:
            written = await self._store(conn, cur, rows, origins) if rows else NOTHING
            if transitions:
                await cur.executemany(_HISTORY, [_history(t) for t in transitions])
            return written

    async def _store(
        self,
        conn: psycopg.AsyncConnection,
        cur: psycopg.AsyncCursor,
        rows: Sequence[Row],
        origins: Sequence[Origin],
    ) -> Written:
        if self._feed is None:
            raise ValueError("this sink stores alert transitions only; construct it with a feed")
        try:
            async with conn.transaction():  # a savepoint
                await _copy(cur, self._copy, self._types, rows)
            return Written(new=len(rows))
        except psycopg.errors.UniqueViolation:
            pass  # some keys are held: the conflict path, outside the handler (nothing chains)
        # Each reading decided against the row stored at its key.
        for attempt in range(RACES):
            stored = await self._stored(cur, rows)
            applied = await self._applied(cur, stored)
            decided = resolve(self._layout, stored, rows, origins, applied)
            try:
                async with conn.transaction():
                    await _copy(cur, self._copy, self._types, [rows[i] for i in decided.new])
                break
            except psycopg.errors.UniqueViolation:  # stored meanwhile by another writer
                if attempt == RACES - 1:
                    raise
        await self._apply(cur, decided, rows, origins)
        return Written(
            new=len(decided.new),
            filled=decided.filled,
            revised=tuple(r.index for r in decided.revisions),
            conflicts=tuple(decided.conflicts),
            duplicates=decided.duplicates,
        )

    async def _stored(self, cur: psycopg.AsyncCursor, rows: Sequence[Row]) -> dict[Any, Stored]:
        """The stored rows at the batch's keys, by key."""
        layout = self._layout
        keys = {layout.key_of(row) for row in rows}
        times = [key[self._time] for key in keys]
        columns = [list(column) for column in zip(*keys, strict=True)]
        await cur.execute(self._select, [*columns, min(times), max(times)])
        return {layout.key_of(row): Stored(row[:-1], row[-1]) async for row in cur}

    async def _applied(self, cur: psycopg.AsyncCursor, stored: dict[Any, Stored]) -> Applied:
        """The revisions' latest offsets at the keys of audited rows (only a revision makes a
        row audited, and only an audited row has revisions)."""
        status = self._layout.status
        keys = [key for key, s in stored.items() if s.row[status] == AUDITED]
        applied: dict[Any, dict[tuple[str, int], int]] = {}
        if keys:
            await cur.execute(self._applied_sql, [list(c) for c in zip(*keys, strict=True)])
            async for *key, topic, partition, offset in cur:
                applied.setdefault(tuple(key), {})[(topic, partition)] = offset
        return applied

    async def _apply(
        self,
        cur: psycopg.AsyncCursor,
        decided: Resolution,
        rows: Sequence[Row],
        origins: Sequence[Origin],
    ) -> None:
        """The filled and revised rows set, and the revisions kept with their origins."""
        layout = self._layout
        replaced, flags = layout.replaced, layout.flags

        def values(row: Row) -> list[Any]:
            return [
                Jsonb(row[i]) if i == flags and row[i] is not None else row[i] for i in replaced
            ]

        if decided.changed:
            await cur.executemany(
                self._update,
                [[*values(s.row), s.received_at, *key] for key, s in decided.changed.items()],
            )
        if decided.revisions:
            params = []
            for r in decided.revisions:
                old, new, origin = values(r.old.row), values(rows[r.index]), origins[r.index]
                pairs = [v for pair in zip(old, new, strict=True) for v in pair]
                params.append(
                    [
                        *layout.key_of(rows[r.index]),
                        *pairs,
                        r.old.received_at,
                        origin.topic,
                        origin.partition,
                        origin.offset,
                    ]
                )
            await cur.executemany(self._revise, params)

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            started = time.monotonic()
            self._conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
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
