"""Every record once, in offset order, and commits that never pass an unstored record.

Faust hands the agents records in batches; around a rebalance it can skip some (its stream
queues are cleared when flow resumes, while records fetched earlier keep arriving) or hand
some over twice. The agents' topics are therefore declared without Faust acknowledgements,
and this module does the bookkeeping instead (see streams/offsets.py): each batch is sorted
per partition against the next offset to store, what is missing is read again by offset
with a consumer of our own, and a timer commits each partition's stored prefix.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Container, Iterable, Mapping, Sequence
from typing import Any, Protocol

import faust
from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as KafkaTP
from aiokafka.admin import AIOKafkaAdminClient
from faust.types import TP

from alerts.metrics import Metrics
from streams.kafka_config import aiokafka_config
from streams.offsets import Frontier, arrange
from streams.settings import Settings

log = logging.getLogger(__name__)


class Record(Protocol):
    """What the pipeline reads of a record: a Faust message or an aiokafka record alike."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any


class LogReader:
    """Reads records by offset, and the group's committed offsets, outside the group.

    Its consumer has no group (it assigns itself one partition at a time and never commits);
    the committed offsets come from the admin API.
    """

    POLL_MS = 1000

    def __init__(self, settings: Settings) -> None:
        self._config = aiokafka_config(settings)
        self._group = settings.app_id
        self._clients: tuple[AIOKafkaConsumer, AIOKafkaAdminClient] | None = None
        self._lock = asyncio.Lock()

    async def _ready(self) -> tuple[AIOKafkaConsumer, AIOKafkaAdminClient]:
        # Made on first use, inside the worker's event loop, as aiokafka requires.
        if self._clients is None:
            consumer = AIOKafkaConsumer(**self._config, enable_auto_commit=False)
            admin = AIOKafkaAdminClient(**self._config)
            await consumer.start()
            await admin.start()
            self._clients = (consumer, admin)
        return self._clients

    async def stop(self) -> None:
        if self._clients is not None:
            consumer, admin = self._clients
            await consumer.stop()
            await admin.close()

    async def committed(self, tp: TP) -> int:
        """The group's committed offset, or the log's first offset when there is none."""
        async with self._lock:
            consumer, admin = await self._ready()
            ktp = KafkaTP(tp.topic, tp.partition)
            offsets = await admin.list_consumer_group_offsets(self._group, partitions=[ktp])
            meta = offsets.get(ktp)
            if meta is not None and meta.offset >= 0:
                return int(meta.offset)
            return int((await consumer.beginning_offsets([ktp]))[ktp])

    async def end_offsets(self, tps: Iterable[TP], timeout_s: float) -> dict[TP, int]:
        """The partitions' end offsets as the broker gives them now; TimeoutError when it does
        not answer within ``timeout_s`` (the worker is cut off from it)."""
        wanted = list(tps)

        async def ask() -> dict[TP, int]:
            async with self._lock:
                consumer, _admin = await self._ready()
                ends = await consumer.end_offsets(
                    [KafkaTP(tp.topic, tp.partition) for tp in wanted]
                )
                return {tp: int(ends[KafkaTP(tp.topic, tp.partition)]) for tp in wanted}

        return await asyncio.wait_for(ask(), timeout_s)

    async def read(self, tp: TP, offsets: range) -> list[Any]:
        """The records at ``offsets``; waits until the broker has handed them all over.

        Only records deleted by retention in the meantime are given up, with a warning.
        """
        async with self._lock:
            consumer, _admin = await self._ready()
            ktp = KafkaTP(tp.topic, tp.partition)
            consumer.assign([ktp])
            consumer.seek(ktp, offsets.start)
            got: list[Any] = []
            wanted = offsets.start
            while wanted < offsets.stop:
                fetched = await consumer.getmany(ktp, timeout_ms=self.POLL_MS)
                for record in fetched.get(ktp, ()):
                    if wanted <= record.offset < offsets.stop:
                        got.append(record)
                        wanted = record.offset + 1
                if not fetched:
                    first = (await consumer.beginning_offsets([ktp]))[ktp]
                    if first > wanted:
                        log.warning(
                            "%s[%d] offsets %d-%d were deleted before they were read",
                            tp.topic,
                            tp.partition,
                            wanted,
                            min(first, offsets.stop) - 1,
                        )
                        wanted = first
                        consumer.seek(ktp, wanted)
            return got


class Delivery:
    def __init__(self, reader: LogReader, metrics: Metrics) -> None:
        self.reader = reader
        self.metrics = metrics
        self.frontier = Frontier()

    async def batches(
        self, stream: faust.StreamT, batch_max: int, within_s: float
    ) -> AsyncIterator[list[Record]]:
        """The agent's batches, each the next records of its partitions with none missing.

        A batch counts as stored once the agent asks for the next one.
        """
        async for events in stream.noack_take(batch_max, within=within_s):
            assigned = stream.app.consumer.assignment()
            records = await self.arrange([event.message for event in events], assigned)
            if records:
                yield records
                self.stored(records)

    async def prime(self, tps: Iterable[TP]) -> None:
        """Partitions just assigned: known from their committed offsets before any record,
        so their lag is exported even while they are quiet."""
        for tp in tps:
            if not self.frontier.knows(tp):
                self.frontier.start(tp, await self.reader.committed(tp))

    async def arrange(self, records: Iterable[Record], assigned: Container[TP]) -> list[Record]:
        """The records to judge, in order and none missing, of the partitions ``assigned``.
        Records of a partition given up in a rebalance can still come out of
        the stream's buffer: they are dropped, and do not make the partition known again
        (its lag exported, its offsets committed) to a worker that no longer owns it."""
        by_tp: dict[TP, list[Record]] = defaultdict(list)
        for record in records:
            by_tp[TP(record.topic, record.partition)].append(record)
        out: list[Record] = []
        for tp, delivered in by_tp.items():
            if tp not in assigned:
                log.info(
                    "%s[%d]: %d records of a partition no longer assigned, dropped",
                    *(tp.topic, tp.partition, len(delivered)),
                )
                continue
            if not self.frontier.knows(tp):
                self.frontier.start(tp, await self.reader.committed(tp))
            arranged = arrange(self.frontier.next(tp), delivered, _offset)
            fresh = arranged.fresh
            if arranged.missing:
                fetched = [r for gap in arranged.missing for r in await self.reader.read(tp, gap)]
                log.warning(
                    "%s[%d]: %d records skipped by the stream, read again by offset",
                    tp.topic,
                    tp.partition,
                    len(fetched),
                )
                self.metrics.records_refetched.labels(tp.topic).inc(len(fetched))
                fresh = sorted([*fresh, *fetched], key=_offset)
            if arranged.redelivered:
                self.metrics.records_redelivered.labels(tp.topic).inc(arranged.redelivered)
            out.extend(fresh)
        return out

    def stored(self, records: Sequence[Record]) -> None:
        by_tp: dict[TP, list[int]] = defaultdict(list)
        for record in records:
            by_tp[TP(record.topic, record.partition)].append(record.offset)
        for tp, offsets in by_tp.items():
            self.frontier.stored(tp, offsets)

    def uncommitted(self, topic: str) -> dict[TP, int]:
        """Each owned partition of ``topic`` whose stored prefix moved since its commit."""
        return {tp: at for tp, at in self.frontier.uncommitted().items() if tp.topic == topic}

    async def commit(self, consumer: Any, offsets: Mapping[TP, int]) -> None:
        """Commit these stored prefixes (the next offset to read, per partition)."""
        # Faust's consumer commits through its own group membership; its public commit()
        # only knows Faust's acknowledgements, which these topics do not use.
        if offsets and await consumer._commit(dict(offsets)):
            self.frontier.committed(offsets)

    def committed(self, tp: TP) -> int | None:
        return self.frontier.committed_offset(tp)

    def forget(self, tps: Iterable[TP]) -> None:
        self.frontier.forget(tps)


def _offset(record: Record) -> int:
    return record.offset
