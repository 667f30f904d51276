"""Sending to a topic and waiting for the broker's confirmation of every message."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

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


async def send_confirmed(
    topic: Any,
    messages: Iterable[tuple[bytes | None, bytes, Headers]],
    partitions: Iterable[int | None] | None = None,
) -> None:
    """:func:`send`, then wait until the broker has confirmed every message."""
    await asyncio.gather(*await send(topic, messages, partitions))
