"""What the tests of a feed engine in process need around it: records as consumed, topics sent
to through a real producer, and components whose calls are noted in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from aiokafka import AIOKafkaProducer

from alerts.feeds import judgement
from alerts.judge import Timing
from alerts.metrics import Metrics
from schemas.decode import FeedDecoder, Rules
from schemas.feed import Feed
from schemas.reference import Reference
from streams.alert_events import AlertEvents
from streams.deadletter import DeadLetters
from streams.engine import FeedEngine
from streams.exporter import SiteExporter
from streams.settings import Settings
from streams.sink import ReadingSink
from streams.states import StateStore


@dataclass
class Record:
    """A consumed record as the engine reads it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any = None


class ProducerTopic:
    """A topic the engine sends to, through a real aiokafka producer (Faust's topic API)."""

    def __init__(self, producer: AIOKafkaProducer, name: str, log: list[str], label: str):
        self.producer, self.name, self.log, self.label = producer, name, log, label

    async def send(self, *, key, value, headers, partition, force) -> asyncio.Future:
        sent = await self.producer.send(
            self.name, value=value, key=key, headers=headers, partition=partition
        )
        self.log.append(self.label)
        return asyncio.ensure_future(self._confirmed(sent))

    async def _confirmed(self, sent: asyncio.Future) -> None:
        await sent
        self.log.append(f"{self.label} confirmed")


class Logged:
    """Passes calls to a real component and notes when each has finished."""

    def __init__(self, inner: Any, log: list[str], **labels: str) -> None:
        self.inner, self.log, self.labels = inner, log, labels

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.inner, name)
        if name not in self.labels:
            return method
        if asyncio.iscoroutinefunction(method):

            async def logged_async(*args: Any, **kwargs: Any) -> Any:
                result = await method(*args, **kwargs)
                self.log.append(self.labels[name])
                return result

            return logged_async

        def logged(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            self.log.append(self.labels[name])
            return result

        return logged


def engine_in_process(
    feed: Feed,
    feeds: Mapping[str, Feed],
    settings: Settings,
    producer: AIOKafkaProducer,
    sink: ReadingSink,
    metrics: Metrics,
    reference: Reference,
    log: list[str],
    clock: Callable[[], datetime],
) -> FeedEngine:
    """A feed engine owning partition 0 of its topic, as a worker builds it, with sustain and
    clear times of an hour; what it sends and each of its effects are noted in ``log``:
    ``dead_letter``, ``rows``, ``alert_event``, ``summary``, ``state``, ``export``,
    ``changelog`` (and ``... confirmed`` when the broker confirms a send)."""

    def topic(name: str, label: str) -> ProducerTopic:
        return ProducerTopic(producer, settings.topic(name), log, label)

    store = StateStore(
        SimpleNamespace(data={}, changelog_topic=topic(f"{feed.name}-changelog", "changelog")),
        judgement(feed).State,
    )
    list(store.recover({0}))  # assigned partition 0, nothing to recover
    sites = reference.sites(feed.name)
    return FeedEngine(
        feed=feed,
        topic=settings.topic(feed.name),
        judgement=judgement(feed),
        decoder=FeedDecoder(feed, Rules(known_sites=sites)),
        sites=sites,
        store=Logged(store, log, put="state"),  # type: ignore[arg-type]
        sink=Logged(sink, log, write="rows"),  # type: ignore[arg-type]
        dead_letters=DeadLetters(topic("deadletter", "dead_letter")),
        alert_events=AlertEvents(topic("alerts", "alert_event")),
        summaries=topic("summaries", "summary"),
        metrics=metrics,
        exporter=Logged(SiteExporter(metrics.sites, feeds), log, export="export"),  # type: ignore[arg-type]
        timing=Timing(3600, 3600),
        clock=clock,
    )
