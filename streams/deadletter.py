"""The dead-letter path: a rejected message or batch element, as received, with its reason.

The value is the original bytes, untouched, so an agency can fix and re-send exactly what it
sent; the reason and the origin travel in headers (as Kafka Connect does it), so a person can
read them with any Kafka tool and a program can filter on them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from datetime import UTC, datetime
from typing import Any

from schemas.decode import Reject
from streams.publish import send

HEADER_PREFIX = "envwatch.error."


def headers_for(feed: str, reject: Reject, message: Any) -> list[tuple[str, bytes]]:
    """Headers of a reject from a feed topic: its origin is the message's topic and offset."""
    return error_headers(
        feed,
        reject.reason,
        reject.code,
        topic=message.topic,
        partition=str(message.partition),
        offset=str(message.offset),
    )


def error_headers(feed: str, reason: str, code: str, **origin: str) -> list[tuple[str, bytes]]:
    """The dead-letter headers: feed, reason, code, where the bytes came from, and when."""
    fields = {"feed": feed, "reason": reason, "code": code, **origin}
    fields["rejected_at"] = datetime.now(UTC).isoformat()
    return [(HEADER_PREFIX + name, value.encode()) for name, value in fields.items()]


class DeadLetters:
    """Sends rejects; the caller waits for the broker's confirmation before it commits."""

    def __init__(self, topic: Any) -> None:
        self._topic = topic

    async def send(self, rejected: Iterable[tuple[str, Reject, Any]]) -> list[Awaitable[Any]]:
        """``(feed, reject, message)``: each reject with the message it came from."""
        return await send(
            self._topic,
            (
                (message.key, reject.raw, headers_for(feed, reject, message))
                for feed, reject, message in rejected
            ),
        )


def decode_headers(headers: Any) -> dict[str, str]:
    """Header list of a consumed dead letter -> {name without prefix: text}."""
    return {
        name.removeprefix(HEADER_PREFIX): value.decode()
        for name, value in (headers or [])
        if name.startswith(HEADER_PREFIX)
    }
