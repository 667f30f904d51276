"""The rows the relay adds to ``alert_history``: who acknowledged an alert instance and when,
and to whom it was escalated. Pure: the row and its columns; ``streams/acknowledgements.py``
writes and reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

Transition = Literal["acknowledged", "escalated"]


class HistoryError(RuntimeError):
    """The history could not be written or read; the message says why."""


def figure(notes: Mapping[str, str], *names: str) -> float | None:
    """The first of these annotations that is a number (the value and limit columns)."""
    for name in names:
        try:
            return float(notes[name])
        except (KeyError, ValueError):
            continue
    return None


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    transition: Transition
    labels: Mapping[str, str]  # the alert instance's, as Alertmanager has them
    actor: str  # who acknowledged it; the receiver it was escalated to
    fingerprint: str  # Alertmanager's id of the alert instance
    starts_at: datetime  # when the instance began firing
    value: float | None = None
    limit: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def columns(self) -> dict[str, Any]:
        """The row in alert_history's columns. An alert of Prometheus's own rules (a silent
        site, the pipeline) has no worker condition: its alertname stands in."""
        labels = self.labels
        return {
            "at": self.at,
            "condition": labels.get("condition") or labels.get("alertname", ""),
            "feed": labels.get("feed", ""),
            "site_id": labels.get("site", ""),
            "county": labels.get("county", ""),
            "parameter": labels.get("parameter", ""),
            "severity": labels.get("severity", ""),
            "transition": self.transition,
            "value": self.value,
            "limit_value": self.limit,
            "alertname": labels.get("alertname", ""),
            "actor": self.actor,
            "fingerprint": self.fingerprint,
            "starts_at": self.starts_at,
            "details": {"labels": dict(labels), **self.details},
        }


class Store(Protocol):
    """Where the rows go (``streams.acknowledgements.HistoryStore``); HistoryError if it fails."""

    async def record(self, row: HistoryRow) -> None: ...

    async def acknowledged_since(self, since: datetime) -> list[HistoryRow]: ...
