"""The city targets' storage: a year of one basis read from the feed tables, and the period
results and target progress written back where analysts and dashboards read them.

One connection, opened when first needed and again after it breaks; a failed read or write
raises to the caller, which keeps the figures it has and tries again later (the targets move by
the day: a database outage must not hold the city's summaries back).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, time
from decimal import Decimal
from typing import Any, TypeVar

import psycopg

from alerts.assessment.air import Hour, station_days
from alerts.assessment.energy import Metered, energy_year
from alerts.assessment.scope import Basis
from alerts.assessment.water import Sums
from alerts.assessment.year import Year
from alerts.city import AIR, Reads
from alerts.feeds.air import POLLUTANTS
from alerts.feeds.energy import CARRIERS
from alerts.standards.editions import CST
from schemas import tables
from schemas.feed import Feed
from streams import year_queries as q
from streams.assessment_rows import Rows, replace

log = logging.getLogger(__name__)
WASTEWATER = "wastewater"
T = TypeVar("T")


class TargetStorage:
    def __init__(self, url: str, feeds: Mapping[str, Feed]) -> None:
        self._url = url
        self.feeds = feeds
        self._conn: psycopg.AsyncConnection | None = None

    async def newest(self) -> datetime | None:
        """The newest moment any feed has a reading of, whatever its year."""

        async def newest(conn: psycopg.AsyncConnection) -> list[datetime | None]:
            return [(await _all(conn, q.latest(feed), {}))[0][0] for feed in self.feeds.values()]

        times = [t for t in await self._guarded(newest) if t is not None]
        return max(times) if times else None

    async def now(self) -> datetime:
        """The database's clock: what the next read's changes are counted from."""
        return (await self._guarded(lambda conn: _all(conn, q.NOW, {})))[0][0]

    async def read(self, year: Year, basis: Basis, reads: Reads) -> None:
        """What the feed tables hold of ``year`` on ``basis``, as ``reads`` asks, into it."""
        await self._guarded(lambda conn: self._read(conn, year, basis, reads))

    async def received_since(self, year: int, since: datetime) -> dict[str, set[str]]:
        """The days of air stations with readings stored since ``since`` (late readings, a
        replayed file: what the stations' summaries did not carry)."""
        air = self.feeds.get(AIR)
        if air is None:
            return {}
        rows = await self._guarded(
            lambda conn: _all(conn, q.air_days_received(air), {**_window(year), "since": since})
        )
        found: dict[str, set[str]] = {}
        for site, day in rows:
            found.setdefault(site, set()).add(day)
        return found

    async def write(self, rows: Rows, year: int, basis: Basis) -> None:
        """Replace the year's rows of the basis in each results table, in one transaction."""

        async def write(conn: psycopg.AsyncConnection) -> None:
            async with conn.transaction():
                await replace(conn, rows, year, basis)

        await self._guarded(write)

    async def _guarded(self, work: Callable[[psycopg.AsyncConnection], Awaitable[T]]) -> T:
        """``work`` on the connection, which is discarded when it breaks."""
        try:
            return await work(await self._connection())
        except (psycopg.OperationalError, psycopg.InterfaceError, OSError):
            await self._discard()
            raise

    async def _read(
        self, conn: psycopg.AsyncConnection, year: Year, basis: Basis, reads: Reads
    ) -> None:
        window = _window(year.year)
        newest = [datetime.combine(year.newest, time(), CST)] if year.newest else []
        for name, feed in self.feeds.items():
            audited = basis == "audited"
            if audited and not await self._has_status(conn, feed):
                continue  # the status column has not landed: nothing is audited yet
            found = await _all(conn, q.newest(feed, audited), window)
            if found[0][0] is not None:
                newest.append(found[0][0])
            if name == AIR:
                await self._air(conn, year, feed, audited, reads)
            elif not (reads.year or name in reads.feeds):
                continue
            elif name == "water":
                year.sections = _by_site(
                    feed, await _all(conn, q.monthly_sums(feed, audited), window)
                )
                year.forget("sections")
            elif name == "energy":
                periods = await _all(conn, q.metered(feed, CARRIERS, audited), window)
                year.energy = energy_year(Metered(r[0], r[1], tuple(r[2:])) for r in periods)
            elif name == WASTEWATER:
                year.plants = _by_site(feed, await _all(conn, q.daily_sums(feed, audited), window))
                year.forget("plants")
        if WASTEWATER in self.feeds and year.plants is None:
            year.plants = {}  # registered, nothing audited yet
        year.newest = max(newest).astimezone(CST).date() if newest else None

    async def _air(
        self, conn: psycopg.AsyncConnection, year: Year, feed: Feed, audited: bool, reads: Reads
    ) -> None:
        window = _window(year.year)
        if reads.year:
            hours = await _all(conn, q.air_hours(feed, POLLUTANTS, audited), window)
            # Closing a year of station-days is seconds of work: off the event loop.
            year.air = await asyncio.to_thread(station_days, _hours(hours))
            year.derived.clear()
            return
        for station, days in reads.air.items():
            params = {**window, "site": station, "days": sorted(days)}
            hours = await _all(conn, q.air_hours(feed, POLLUTANTS, audited, days=True), params)
            year.replace_air(station, days, station_days(_hours(hours)))

    async def _has_status(self, conn: psycopg.AsyncConnection, feed: Feed) -> bool:
        row = await (await conn.execute(q.HAS_COLUMN, (tables.table(feed), q.STATUS))).fetchone()
        return bool(row and row[0])

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
            # A float's text is then its shortest decimal, as the judgement reads it.
            await self._conn.execute("SET extra_float_digits = 1")
        return self._conn

    async def _discard(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            except Exception:  # already broken; nothing to save
                log.debug("closing a broken connection failed", exc_info=True)
            self._conn = None

    async def close(self) -> None:
        await self._discard()


def _window(year: int) -> dict[str, datetime]:
    return {"start": datetime(year, 1, 1, tzinfo=CST), "end": datetime(year + 1, 1, 1, tzinfo=CST)}


def _hours(rows: Iterable[Sequence[Any]]) -> Iterator[Hour]:
    return ((r[0], r[1], tuple(r[2:])) for r in rows)


async def _all(
    conn: psycopg.AsyncConnection, statement: Any, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    async with conn.cursor(binary=True) as cur:
        await cur.execute(statement, params)
        return await cur.fetchall()


def _by_site(feed: Feed, rows: Iterable[Sequence[Any]]) -> dict[Any, dict[Any, Sums]]:
    """Rows of (site, bucket, sum, count, sum, count, ...) as site -> bucket -> item sums, by
    wire name; items without a valid value are left out."""
    wires = [quantity.wire for quantity in feed.quantities]
    out: dict[Any, dict[Any, Sums]] = {}
    for site, bucket, *figures in rows:
        sums = {
            wire: (Decimal(total), int(count))
            for wire, total, count in zip(wires, figures[::2], figures[1::2], strict=True)
            if count
        }
        if sums:
            out.setdefault(site, {})[bucket] = sums
    return out
