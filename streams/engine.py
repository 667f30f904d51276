"""One feed's batches: from raw records to stored rows, published transitions and exports.

The order is the guarantee. Decode; send the rejects to the dead-letter topic; load each
site's state; judge each site's readings (pure code, ``alerts/feeds``); store the rows and the
alert transitions in one transaction (retried until stored); send the readings the sink
refused as conflicting duplicates to the dead-letter topic, then the transitions and the
summaries (a ``Revised`` one for each site whose stored readings audited ones replaced); only
then keep the new states and export them. The batch's offsets count as
stored after that (``streams/delivery.py``). A checkpoint (:meth:`Checkpointed.checkpoint`)
waits until the broker has confirmed every message the batches since the last one sent,
writes the states they changed to the table's changelog and waits for that too, and only
then commits the offsets: a restart never resumes past a message or a state the broker does
not hold. Waiting for confirmations at the checkpoint, not in each batch, keeps the broker's
round trips off the batches' path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from alerts.feeds import Judgement
from alerts.judge import AlertEvent, Context, Outcome, Timing
from alerts.metrics import Metrics
from alerts.standards import ReadingError
from alerts.summaries import Summary, encode, revised
from schemas.decode import FeedDecoder, Reject
from schemas.feed import Feed, Reading
from schemas.resent import CONFLICTING, Conflict
from streams.alert_events import AlertEvents
from streams.deadletter import DeadLetters
from streams.delivery import Delivery, Record
from streams.exporter import SiteExporter
from streams.publish import send, send_confirmed
from streams.sink import ReadingSink
from streams.states import CHECKPOINT_KEY, StateStore, checkpoint_value

log = logging.getLogger(__name__)
CITY_KEY = b"city"


class Checkpointed:
    """What an agent with a state table shares: batches under a lock, and checkpoints."""

    name: str  # the label of its metrics
    topic: str  # the topic it consumes
    store: StateStore[Any]
    metrics: Metrics
    lock: asyncio.Lock  # held for a whole batch, so a checkpoint never sees half of one
    # Messages sent by batches (dead letters, transitions, summaries) whose confirmations
    # the next checkpoint awaits before it commits the offsets behind them.
    unconfirmed: list[Awaitable[Any]]

    async def handle(self, records: Sequence[Record]) -> int:
        """Process one batch of records, once the partitions of the assignment are recovered;
        returns the number of new rows stored."""
        await self.store.recovered.wait()
        async with self.lock:
            return await self._handle(records)

    async def _handle(self, records: Sequence[Record]) -> int:
        raise NotImplementedError

    async def checkpoint(self, delivery: Delivery, consumer: Any, wait_s: float) -> bool:
        """Changelog the states changed since the last checkpoint, then commit the offsets
        of the partitions that those states cover. Between batches only, so that states and
        offsets agree: when a batch takes longer than ``wait_s`` (a database outage), this
        checkpoint is left to the next one. Returns whether it ran."""
        try:
            await asyncio.wait_for(self.lock.acquire(), wait_s)
        except TimeoutError:
            return False
        try:
            records = self.store.checkpoint()
            offsets = delivery.uncommitted(self.topic)
            sent, self.unconfirmed = self.unconfirmed, []
        finally:
            self.lock.release()
        try:
            await asyncio.gather(*sent)
        except BaseException:
            self.store.unsent(records)
            raise  # nothing is committed behind a message the broker did not take
        if records:
            changelog = self.store.changelog
            try:
                await send_confirmed(
                    changelog, ((k, v, None) for k, v, _ in records), (p for _, _, p in records)
                )
                # After the states, in a batch of its own on each partition written: what
                # the states cover. See streams/states.py for why it must come last, alone.
                written = sorted({p for _, _, p in records})
                covered = {tp.partition: at for tp, at in offsets.items()}
                await send_confirmed(
                    changelog,
                    ((CHECKPOINT_KEY, checkpoint_value(covered.get(p)), None) for p in written),
                    written,
                )
            except BaseException:
                self.store.unsent(records)  # the next checkpoint sends them again
                raise
            self.metrics.state_records.labels(self.name).inc(len(records))
        await delivery.commit(consumer, offsets)
        return True


@dataclass
class FeedEngine(Checkpointed):
    feed: Feed
    topic: str  # the feed topic's name
    judgement: Judgement
    decoder: FeedDecoder
    sites: Mapping[str, Any]  # the register's sites of the feed
    store: StateStore[Any]
    sink: ReadingSink
    dead_letters: DeadLetters
    alert_events: AlertEvents
    summaries: Any  # the summaries topic
    metrics: Metrics
    exporter: SiteExporter
    timing: Timing
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    unconfirmed: list[Awaitable[Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._row = self.feed.row_of()  # a reading's row of the feed's table

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.feed.name

    async def _handle(self, records: Sequence[Record]) -> int:
        name = self.feed.name
        stage = _Stages(self.metrics, name)
        now = self.clock()
        by_site: dict[str, list[Reading]] = {}
        partition: dict[str, int] = {}
        valid: list[Reading] = []
        origins: list[Record] = []  # each valid reading's record, and its element there
        elements: list[int | None] = []
        rejected: list[tuple[str, Reject, Record]] = []
        for record in records:
            decoded = self.decoder.decode(record.value or b"", now)
            for reading in decoded.readings:
                site = reading.site()
                by_site.setdefault(site, []).append(reading)
                partition[site] = record.partition
            valid.extend(decoded.readings)
            origins.extend([record] * len(decoded.readings))
            elements.extend(decoded.elements)
            rejected.extend((name, reject, record) for reject in decoded.rejects)
        stage.done("decode")
        if rejected:
            await self._dead_letter(rejected)
        self.metrics.messages.labels(name).inc(len(records))
        self.metrics.readings.labels(name).inc(len(valid))
        if not valid:
            return 0
        stage.done("dead_letter")

        states = {site: self.store.get(site) for site in by_site}
        stage.done("state")
        context = Context(self.timing, now.timestamp())
        outcomes: list[Outcome] = []
        for site, readings in by_site.items():
            try:
                states[site], outcome = self.judgement.judge(
                    states[site], self.sites[site], readings, context
                )
            except (ReadingError, LookupError) as exc:
                # Valid by the contract but not judgeable: stored, not judged; never a crash.
                log.warning("%s readings of %s stored unjudged: %s", name, site, exc)
                continue
            outcomes.append(outcome)
        events = [e for o in outcomes for e in o.events]
        summaries = [s for o in outcomes for s in o.summaries]
        stage.done("judge")

        rows = [self._row(reading) for reading in valid]
        stage.done("rows")
        written = await self.sink.write(rows, events, origins)
        stage.done("write")
        self.metrics.write_seconds.labels(name).observe(stage.last)
        self.metrics.batch_readings.labels(name).observe(len(valid))
        self.metrics.rows_written.labels(name).inc(written.new)
        self.metrics.rows_duplicate.labels(name).inc(written.duplicates)
        self.metrics.readings_filled.labels(name).inc(written.filled)
        self.metrics.readings_revised.labels(name).inc(len(written.revised))
        self.metrics.last_write.labels(name).set_to_current_time()
        if written.conflicts:
            await self._dead_letter(self._conflicts(written.conflicts, origins, elements))
        summaries += self._revised(valid, written.revised)
        await self._publish(events, summaries)
        stage.done("publish")

        for site, state in states.items():
            if self.store.put(site, state, partition[site]):
                self.exporter.export(name, self.sites[site], state)
        stage.done("export")
        return written.new

    async def _dead_letter(self, rejected: list[tuple[str, Reject, Record]]) -> None:
        self.unconfirmed += await self.dead_letters.send(rejected)
        for _, reject, _ in rejected:
            self.metrics.dead_letters.labels(self.feed.name, reject.code).inc()

    def _conflicts(
        self, conflicts: Iterable[Conflict], origins: list[Record], elements: list[int | None]
    ) -> list[tuple[str, Reject, Record]]:
        """Readings the sink refused (not stored), each with its own bytes as received."""
        out = []
        for c in conflicts:
            record = origins[c.index]
            raw = self.decoder.element(record.value or b"", elements[c.index])
            out.append((self.feed.name, Reject(raw, c.reason, CONFLICTING), record))
        return out

    def _revised(self, valid: list[Reading], indices: Iterable[int]) -> list[Summary]:
        """A ``Revised`` summary per site whose stored readings audited ones replaced."""
        spans: dict[str, list[tuple[datetime, datetime]]] = {}
        for i in indices:
            spans.setdefault(valid[i].site(), []).append(valid[i].span())
        return [revised(self.feed.name, site, each) for site, each in spans.items()]

    async def _publish(self, events: list[AlertEvent], summaries: list[Summary]) -> None:
        if summaries:
            self.unconfirmed += await send(
                self.summaries, ((CITY_KEY, encode(s), None) for s in summaries)
            )
        if events:
            self.unconfirmed += await self.alert_events.send(events)
            for e in events:
                self.metrics.alert_transitions.labels(e.condition, e.transition).inc()

    def recover(self, owned: Iterable[int]) -> int:
        """After a rebalance: export every owned site from its state, before consuming."""
        exported = 0
        for site, state in self.store.recover(set(owned)):
            registered = self.sites.get(site)
            if registered is not None:
                self.exporter.export(self.feed.name, registered, state)
                exported += 1
        return exported

    def revoke(self, partitions: Iterable[int]) -> int:
        """Partitions given up: their sites' states are forgotten and their series removed."""
        sites = self.store.revoke(partitions)
        self.exporter.drop(self.feed.name, sites)
        return len(sites)


class _Stages:
    """Seconds spent in each stage of a batch, added to ``envwatch_stage_seconds_total``."""

    __slots__ = ("feed", "last", "metrics", "started")

    def __init__(self, metrics: Metrics, feed: str) -> None:
        self.metrics, self.feed = metrics, feed
        self.started = time.perf_counter()
        self.last = 0.0

    def done(self, stage: str) -> None:
        now = time.perf_counter()
        self.last = now - self.started
        self.metrics.stage_seconds.labels(self.feed, stage).inc(self.last)
        self.started = now
