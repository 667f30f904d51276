"""Sending to a topic and waiting for the broker's confirmation of every message.

The worker's own messages (dead letters, alert transitions, summaries, state changelogs) go
through one aiokafka producer of its own (:class:`Outbox`), not through Faust's topics: a
Faust send builds an event, a future message and sensor records around each message, which
cost the worker more than the judgement of a reading.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

from aiokafka import AIOKafkaProducer

Headers = list[tuple[str, bytes]] | None


async def send(
    topic: Any,
    messages: Iterable[tuple[bytes | None, bytes, Headers]],
    partitions: Iterable[int | None] | None = None,
) -> list[Awaitable[Any]]:
    """Send ``(key, value, headers)`` messages now; returns what confirms each one.
    ``partitions`` names each message's partition (default: the producer's partitioner).

    All are handed to the producer before any is awaited, so a batch's messages share its
    round trips. force=True sends now instead of attaching the send to the current event."""
    messages = list(messages)
    chosen = [None] * len(messages) if partitions is None else list(partitions)
    return [
        await topic.send(key=key, value=value, headers=headers, partition=partition, force=True)
        for (key, value, headers), partition in zip(messages, chosen, strict=True)
    ]


class Outbox:
    """The worker's producer, started in the worker's event loop on first use."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    def topic(self, name: str) -> OutboxTopic:
        return OutboxTopic(self, name)

    async def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            async with self._starting:
                if self._producer is None:
                    producer = AIOKafkaProducer(**self._config, acks="all", linger_ms=5)
                    await producer.start()
                    self._producer = producer
        return self._producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()


class OutboxTopic:
    """A topic the worker sends to, with the send of Faust's topics (``force`` ignored)."""

    def __init__(self, outbox: Outbox, name: str) -> None:
        self.outbox, self.name = outbox, name

    async def send(
        self,
        *,
        key: bytes | None,
        value: bytes,
        headers: Headers,
        partition: int | None,
        force: bool = True,
    ) -> Awaitable[Any]:
        producer = await self.outbox.producer()
        return await producer.send(
            self.name, value=value, key=key, headers=headers, partition=partition
        )


async def send_confirmed(
    topic: Any,
    messages: Iterable[tuple[bytes | None, bytes, Headers]],
    partitions: Iterable[int | None] | None = None,
) -> None:
    """:func:`send`, then wait until the broker has confirmed every message."""
    await asyncio.gather(*await send(topic, messages, partitions))
