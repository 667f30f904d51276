"""Sending to a topic and waiting for the broker's confirmation of every message."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

Headers = list[tuple[str, bytes]] | None


async def send_confirmed(
    topic: Any,
    messages: Iterable[tuple[bytes | None, bytes, Headers]],
    partitions: Iterable[int | None] | None = None,
) -> None:
    """Send ``(key, value, headers)`` messages, then wait until the broker has confirmed all;
    ``partitions`` names each message's partition (default: the producer's partitioner).

    All are sent before any is awaited, so a batch's messages share the producer's round
    trips instead of paying one each. force=True sends now instead of attaching the send to
    the current event: the confirmations must come before the batch counts as stored.
    """
    messages = list(messages)
    chosen = [None] * len(messages) if partitions is None else list(partitions)
    pending = [
        await topic.send(key=key, value=value, headers=headers, partition=partition, force=True)
        for (key, value, headers), partition in zip(messages, chosen, strict=True)
    ]
    await asyncio.gather(*pending)
