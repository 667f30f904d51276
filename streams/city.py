"""The city-wide agent: the plan targets, assessed over the year from storage, kept current by
the sites' summaries, exported on both bases and stored for analysts.

It reads the single-partition summaries topic, so exactly one worker holds the city's targets.
When it takes the partition (a start, a rebalance), after every ``Revised`` summary (audited
readings replaced stored ones), when a later year begins, and every ``refresh_s``, it reads the
year so far from the feed tables on both bases, so the figures are right from the first minute
whatever this worker has seen; between reads the stations' daily summaries keep the real-time
figures current. The target alerts' lifecycles live in its state table (key ``city``); the
series are derived from the assessment and move with the partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg

from alerts.assessment.scope import BASES, Basis
from alerts.assessment.year import Assessed, Register, Year, assess
from alerts.city import AIR, STATUS_CODE, CityState, Reads, apply, judge
from alerts.judge import firing
from alerts.metrics import Metrics
from alerts.standards.editions import CST
from alerts.summaries import decode
from alerts.targets import Targets
from streams.alert_events import AlertEvents
from streams.assessment_rows import Rows, rows_of
from streams.delivery import Record
from streams.engine import CITY_KEY, Checkpointed
from streams.exporter import alert_series
from streams.sink import ReadingSink
from streams.states import StateStore
from streams.target_storage import TargetStorage

log = logging.getLogger(__name__)
SITE = "city"
PARTITION = 0  # the summaries topic has one
PERIODS_KEY = b"city-periods"  # the owner of the period results' series
STORAGE_ERRORS = (psycopg.Error, OSError)


@dataclass
class CityEngine(Checkpointed):
    topic: str
    store: StateStore[CityState]
    targets: Targets
    budget_warning: int
    sink: ReadingSink
    alert_events: AlertEvents
    metrics: Metrics
    storage: TargetStorage
    register: Register
    county_of: Mapping[str, str]  # site id -> county code, for the period series
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    unconfirmed: list[Awaitable[Any]] = field(default_factory=list)
    name: str = "city"
    exported: set[tuple[str, str, str]] = field(default_factory=set)
    years: dict[Basis, Year] = field(default_factory=dict)  # as read (and summaries since)
    audited: Assessed | None = None  # changes only with a read
    pending: Reads = field(default_factory=lambda: Reads(year=True))  # what to read next
    changed_since: datetime | None = None  # the database's clock at the last read
    written: dict[Basis, Rows] = field(default_factory=dict)
    reading: asyncio.Task[None] | None = None

    async def _handle(self, records: Sequence[Record]) -> int:
        summaries = []
        for record in records:
            try:
                summaries.append(decode(record.value or b""))
            except msgspec.DecodeError:
                log.warning("summary at offset %d is not one: skipped", record.offset)
                continue  # written by this program only; nothing to dead-letter
        self.pending.add(apply(self.years.get("realtime"), summaries))
        await self._assess()
        return 0

    async def refresh(self) -> None:
        """Read again what may have changed without a summary saying so (the timer): the
        feeds without daily summaries, and the days of late or replayed air readings."""
        async with self.lock:
            if PARTITION not in self.store.owned:
                return
            self.pending.feeds |= set(self.storage.feeds) - {AIR}
            if self.changed_since is not None and "realtime" in self.years:
                year = self.years["realtime"].year
                try:
                    late = await self.storage.received_since(year, self.changed_since)
                except STORAGE_ERRORS as exc:
                    log.warning("plan targets: asking storage what changed failed (%s)", exc)
                    late = {}
                self.pending.add(Reads(air=late))
            await self._assess()

    async def _assess(self) -> None:
        if self.pending:
            await self._read()
        realtime = self.years.get("realtime")
        if realtime is None:
            return
        assessed = {"realtime": assess(realtime, self.register, self.targets,
                                       self.budget_warning),
                    "audited": self.audited}  # fmt: skip
        state = self.store.get(SITE)
        out = judge(state, assessed["realtime"])
        if out.events:
            await self.sink.write((), out.events)
            self.unconfirmed += await self.alert_events.send(out.events)
        if self.store.put(SITE, state, PARTITION):
            self.export(state, assessed)
            await self._store(assessed)

    async def _read(self) -> None:
        """What ``pending`` asks, on both bases, from the feed tables; on failure the figures
        stay as they are and the next batch or timer tries again."""
        started, reads = time.monotonic(), self.pending
        try:
            since = await self.storage.now()
            if reads.year:
                newest = await self.storage.newest()
                year = (newest or datetime.now(UTC)).astimezone(CST).year
                years = {basis: Year(year) for basis in BASES}
            else:
                years = self.years
            for basis, held in years.items():
                await self.storage.read(held, basis, reads)
        except STORAGE_ERRORS as exc:
            log.warning("plan targets: reading the year from storage failed (%s); retrying", exc)
            self.metrics.target_reads.labels("failed").inc()
            return
        self.years, self.pending, self.changed_since = years, Reads(), since
        self.audited = assess(years["audited"], self.register, self.targets, self.budget_warning)
        self.metrics.target_reads.labels("ok").inc()
        self.metrics.target_read_at.set_to_current_time()
        log.info(
            "plan targets: %s of %d read from storage in %.2f s",
            "the year" if reads.year else "changes",
            years["realtime"].year,
            time.monotonic() - started,
        )

    async def _store(self, assessed: Mapping[Basis, Assessed | None]) -> None:
        """The period results and target progress of each basis, when they changed."""
        for basis, result in assessed.items():
            if result is None:
                continue
            rows = rows_of(result)
            if self.written.get(basis) == rows:
                continue
            try:
                await self.storage.write(rows, result.year, basis)
            except STORAGE_ERRORS as exc:
                log.warning("plan targets: storing the %s results failed (%s)", basis, exc)
                continue
            self.written[basis] = rows

    def export(self, state: CityState, assessed: Mapping[Basis, Assessed | None]) -> None:
        """The target series and the current periods' results, from the assessment."""
        m = self.metrics
        now: set[tuple[str, str, str]] = set()
        periods: dict[tuple[str, tuple[str, ...]], float] = {}
        for basis in BASES:
            result = assessed.get(basis)
            if result is None:
                continue
            for (target, scope), figure in result.figures.items():
                labels = (target, basis, scope)
                m.target_value.labels(*labels).set(figure.value)
                m.target_goal.labels(*labels).set(figure.goal)
                if figure.status is None:
                    _remove(m.target_status, labels)
                else:
                    m.target_status.labels(*labels).set(STATUS_CODE[figure.status])
                now.add(labels)
            periods |= self._periods(basis, result)
        for labels in self.exported - now:
            for gauge in (m.target_value, m.target_goal, m.target_status):
                _remove(gauge, labels)
        self.exported = now
        m.sites.put(CITY_KEY, alert_series(SITE, SITE, "all", firing(state)))
        m.sites.put(PERIODS_KEY, periods)

    def _periods(self, basis: Basis, result: Assessed) -> dict[tuple[str, tuple[str, ...]], float]:
        """The series of the current month and the year so far."""
        month = result.as_of.replace(day=1)
        out: dict[tuple[str, tuple[str, ...]], float] = {}
        for mean in result.air_means:
            if mean.period == "month" and mean.starts != month:
                continue
            county = self.county_of.get(mean.site, "all")
            labels = (basis, mean.site, county, mean.period, mean.pollutant)
            if mean.mean is not None:
                out[("air_mean", labels)] = mean.mean
            out[("air_mean_days", labels)] = mean.days
            out[("air_mean_valid", labels)] = float(mean.valid)
        for c in result.section_classes:
            if c.period == "year" or c.starts == month:
                labels = (basis, c.site, self.county_of.get(c.site, "all"), c.period)
                out[("section_class", labels)] = c.water_class
        return out

    def recover(self, owned: set[int]) -> None:
        """The target alerts at once, from the state; the figures once the year is read."""
        for _, state in self.store.recover(owned):
            self.metrics.sites.put(CITY_KEY, alert_series(SITE, SITE, "all", firing(state)))
        if PARTITION in owned:
            self.pending = Reads(year=True)
            self.reading = asyncio.ensure_future(self._first_read())

    async def _first_read(self) -> None:
        async with self.lock:
            if PARTITION in self.store.owned:
                await self._assess()

    def revoke(self, partitions: set[int]) -> None:
        self.store.revoke(partitions)
        if PARTITION in partitions:
            m = self.metrics
            for labels in self.exported:
                for gauge in (m.target_value, m.target_goal, m.target_status):
                    _remove(gauge, labels)
            self.exported = set()
            self.years, self.audited, self.written = {}, None, {}
            self.pending, self.changed_since = Reads(year=True), None
            m.sites.drop(CITY_KEY)
            m.sites.drop(PERIODS_KEY)


def _remove(gauge: Any, labels: tuple[str, ...]) -> None:
    with contextlib.suppress(KeyError):  # never set (a figure without a status)
        gauge.remove(*labels)
