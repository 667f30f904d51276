"""Sending to a topic and waiting for the broker's confirmation."""

from __future__ import annotations

from typing import Any


async def send_confirmed(
    topic: Any, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]] | None = None
) -> None:
    # force=True sends now instead of attaching the send to the current event's ack: the
    # confirmation must come before the batch it belongs to is acknowledged.
    pending = await topic.send(key=key, value=value, headers=headers, force=True)
    await pending
