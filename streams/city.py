"""The city-wide agent: the sites' summaries in, plan-target progress and alerts out.

It reads the single-partition summaries topic, so exactly one worker holds the city's state
(in its own table, key ``city``) and exports the target series, all derived from that
state; when the partition moves, the series move with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from alerts.city import STATUS_CODE, CityState, Figure, as_of_day, judge, progress
from alerts.judge import firing
from alerts.metrics import Metrics
from alerts.summaries import decode
from alerts.targets import Targets
from streams.alert_events import AlertEvents
from streams.delivery import Record
from streams.engine import CITY_KEY, Checkpointed
from streams.exporter import alert_series
from streams.sink import ReadingSink
from streams.states import StateStore

log = logging.getLogger(__name__)
SITE = "city"
PARTITION = 0  # the summaries topic has one


@dataclass
class CityEngine(Checkpointed):
    topic: str
    store: StateStore[CityState]
    targets: Targets
    budget_warning: int
    sink: ReadingSink
    alert_events: AlertEvents
    metrics: Metrics
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    unconfirmed: list[Awaitable[Any]] = field(default_factory=list)
    name: str = "city"
    exported: set[str] = field(default_factory=set)

    async def _handle(self, records: Sequence[Record]) -> int:
        summaries = []
        for record in records:
            try:
                summaries.append(decode(record.value or b""))
            except msgspec.DecodeError:
                log.warning("summary at offset %d is not one: skipped", record.offset)
                continue  # written by this program only; nothing to dead-letter
        state, figures, out = judge(
            self.store.get(SITE), summaries, self.targets, self.budget_warning
        )
        if out.events:
            await self.sink.write((), out.events)
            self.unconfirmed += await self.alert_events.send(out.events)
        if self.store.put(SITE, state, PARTITION):
            self.export(state, figures)
        return 0

    def export(self, state: CityState, figures: Mapping[str, Figure]) -> None:
        """The target series, derived from the city's state."""
        m = self.metrics
        for name in self.exported - set(figures):
            self._unexport(name)
        for name, figure in figures.items():
            m.target_value.labels(name).set(figure.value)
            m.target_goal.labels(name).set(figure.goal)
            m.target_status.labels(name).set(STATUS_CODE[figure.status])
        self.exported = set(figures)
        m.sites.put(CITY_KEY, alert_series(SITE, SITE, "all", firing(state)))

    def recover(self, owned: set[int]) -> None:
        for _, state in self.store.recover(owned):
            figures, _ = progress(state, as_of_day(state), self.targets, self.budget_warning)
            self.export(state, figures)

    def revoke(self, partitions: set[int]) -> None:
        self.store.revoke(partitions)
        if PARTITION in partitions:
            for name in self.exported:
                self._unexport(name)
            self.exported = set()
            self.metrics.sites.drop(CITY_KEY)

    def _unexport(self, name: str) -> None:
        m = self.metrics
        for gauge in (m.target_value, m.target_goal, m.target_status):
            gauge.remove(name)
