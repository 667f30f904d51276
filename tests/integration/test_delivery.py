"""The delivery's broker side on the embedded broker: records read again by offset, committed
offsets read outside the group, and a batch with a gap made whole."""

from __future__ import annotations

import asyncio

from faust.types import TP
from kafka import KafkaConsumer
from kafka.structs import OffsetAndMetadata
from kafka.structs import TopicPartition as KafkaTP
from prometheus_client import CollectorRegistry

from alerts.metrics import Metrics
from streams.delivery import Delivery, LogReader
from streams.kafka_config import kafka_python_config
from tests.support.services import producer


def fill(settings, count: int) -> TP:
    """``count`` messages on partition 0 of the air topic, values b"0", b"1", ..."""
    out = producer(settings)
    topic = settings.topic("air")
    futures = [out.send(topic, value=str(i).encode(), partition=0) for i in range(count)]
    out.flush()
    assert [f.get(timeout=30).offset for f in futures] == list(range(count))
    out.close()
    return TP(topic, 0)


def commit(settings, tp: TP, offset: int) -> None:
    consumer = KafkaConsumer(**kafka_python_config(settings), group_id=settings.app_id)
    try:
        consumer.commit({KafkaTP(tp.topic, tp.partition): OffsetAndMetadata(offset, "", -1)})
    finally:
        consumer.close()


async def with_reader(settings, work):
    reader = LogReader(settings)
    try:
        return await work(reader)
    finally:
        await reader.stop()


def test_reader_reads_exactly_the_offsets_asked_for(settings):
    tp = fill(settings, 30)

    async def work(reader: LogReader):
        return [await reader.read(tp, range(10, 20)), await reader.read(tp, range(29, 30))]

    middle, last = asyncio.run(with_reader(settings, work))
    assert [r.offset for r in middle] == list(range(10, 20))
    assert [r.value for r in middle] == [str(i).encode() for i in range(10, 20)]
    assert [r.offset for r in last] == [29]


def test_committed_offset_is_the_log_start_until_the_group_commits(settings):
    tp = fill(settings, 5)
    before = asyncio.run(with_reader(settings, lambda reader: reader.committed(tp)))
    commit(settings, tp, 3)
    after = asyncio.run(with_reader(settings, lambda reader: reader.committed(tp)))
    assert (before, after) == (0, 3)


def test_a_batch_with_gaps_and_stale_copies_comes_out_whole_and_once(settings):
    tp = fill(settings, 40)
    commit(settings, tp, 12)
    registry = CollectorRegistry()

    async def work(reader: LogReader):
        handed = await reader.read(tp, range(0, 40))
        by_offset = {r.offset: r for r in handed}
        # Stored already (below 12), a stale second copy, and gaps at 12-14 and 20-24.
        batch = [by_offset[o] for o in [5, 11, 15, 16, 16, 17, 18, 19, 25, 26]]
        delivery = Delivery(reader, Metrics(registry))
        records = await delivery.arrange(batch, {tp})
        delivery.stored(records)
        return records, delivery

    records, delivery = asyncio.run(with_reader(settings, work))
    assert [r.offset for r in records] == list(range(12, 27))
    assert [r.value for r in records] == [str(i).encode() for i in range(12, 27)]
    assert delivery.frontier.uncommitted() == {tp: 27}
    assert registry.get_sample_value("envwatch_records_refetched_total", {"topic": tp.topic}) == 8
    assert registry.get_sample_value("envwatch_records_redelivered_total", {"topic": tp.topic}) == 3


def test_records_of_a_partition_given_up_are_dropped_and_leave_it_unknown(settings):
    """A rebalance took the partition away while its records sat in the stream's buffer:
    they are not judged, and the worker neither exports its lag nor commits it again."""
    tp = fill(settings, 5)
    registry = CollectorRegistry()

    async def work(reader: LogReader):
        handed = await reader.read(tp, range(0, 5))
        delivery = Delivery(reader, Metrics(registry))
        elsewhere = TP(tp.topic, tp.partition + 1)
        return await delivery.arrange(handed, {elsewhere}), delivery

    records, delivery = asyncio.run(with_reader(settings, work))
    assert records == []
    assert not delivery.frontier.knows(tp) and delivery.frontier.uncommitted() == {}
