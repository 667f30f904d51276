"""Producing benchmark messages, and the raw-consumer ceiling, with aiokafka."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.payloads import Message
from streams.settings import Settings
from streams.topics import feed_topic


def producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5, max_batch_size=262144
    )


async def produce(settings: Settings, messages: Sequence[Message]) -> float:
    """Send every message to its feed topic and wait for all confirmations; returns seconds."""
    async with producer(settings) as p:
        started = time.perf_counter()
        pending = [await p.send(feed_topic(settings, m.feed), m.value, key=m.key) for m in messages]
        await asyncio.gather(*pending)
        return time.perf_counter() - started


async def raw_consume(settings: Settings, feeds: Sequence[str], expected: int) -> float:
    """Messages/s of a bare aiokafka consumer reading ``expected`` messages from the start.

    Counts messages rather than reading "to the end": the embedded broker under-reports end
    offsets (DESIGN.md).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(feed_topic(settings, feed), p)
            for feed in feeds
            for p in consumer.partitions_for_topic(feed_topic(settings, feed)) or ()
        ]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [
                TopicPartition(feed_topic(settings, feed), p)
                for feed in feeds
                for p in consumer.partitions_for_topic(feed_topic(settings, feed)) or ()
            ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen, started = 0, None
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10000)
            if started is None and batches:
                started = time.perf_counter()
            seen += sum(len(records) for records in batches.values())
        assert started is not None
        return expected / (time.perf_counter() - started)
    finally:
        await consumer.stop()
