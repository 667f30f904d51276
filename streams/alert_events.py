"""Alert transitions as events on the alert topic, keyed by site, for downstream consumers."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any

import orjson

from alerts.judge import AlertEvent
from streams.publish import send


def event_json(event: AlertEvent) -> bytes:
    return orjson.dumps(
        {
            "condition": event.condition,
            "feed": event.feed,
            "site": event.site,
            "county": event.county,
            "parameter": event.parameter,
            "severity": event.severity,
            "transition": event.transition,
            "at": event.at.isoformat(),
            "value": event.value,
            "limit": event.limit,
            "edition": event.edition,
        }
    )


class AlertEvents:
    def __init__(self, topic: Any) -> None:
        self._topic = topic

    async def send(self, events: Sequence[AlertEvent]) -> list[Awaitable[Any]]:
        """Sends now; the awaitables confirm (the caller waits before it commits)."""
        return await send(
            self._topic, ((event.site.encode(), event_json(event), None) for event in events)
        )
