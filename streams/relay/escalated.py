"""Escalation notifications (``AlertEscalated``, from ``alerts/rules/escalation.yml``) as the
receivers see them: the alert they escalate, in full and with its acknowledge token, marked
with the level and the receiver; each escalation recorded in ``alert_history`` and exported
(who it went to) while it lasts.

An escalation's labels are its alert's plus ``escalated`` (the alertname) and ``level``, so the
alert is found in Alertmanager by its labels. When the escalation ends because the alert
resolved, the alert has left Alertmanager: what the escalation showed of it is kept.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from alerts.notify.history import HistoryError, HistoryRow, Store, figure
from streams.relay.alertmanager import Firing, seconds
from streams.relay.metrics import RelayMetrics, alert_key

log = logging.getLogger(__name__)
ESCALATION_LABELS = ("escalated", "level")  # what the escalation rules add to an alert's labels
NOW_NOTES = ("value", "current", "limit", "summary_zh", "summary")  # of a moment, not the alert
KEEP_S = 86400.0  # how long what an escalation showed is kept for the message of its end

# An acknowledgement by fingerprint: (by whom, when), or None
Acknowledged = Callable[[str], tuple[str, float] | None]


def escalated_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels of the alert an AlertEscalated alert escalates."""
    own = {k: v for k, v in labels.items() if k not in ESCALATION_LABELS}
    return own | {"alertname": labels.get("escalated", "")}


@dataclass
class Escalations:
    store: Store
    metrics: RelayMetrics
    clock: Callable[[], float]
    # (escalation's fingerprint, receiver) -> the exported series' label values
    active: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    shown: dict[str, tuple[float, Firing]] = field(default_factory=dict)

    def show(
        self,
        alert: Mapping[str, Any],
        firing: Mapping[str, Firing],
        receiver: str,
        acknowledged: Acknowledged,
    ) -> dict[str, Any]:
        """An AlertEscalated alert as the alert it escalates, marked with its level and
        receiver, and by whom it was acknowledged if it was."""
        labels, escalation = alert.get("labels", {}), alert.get("fingerprint", "")
        wanted = escalated_labels(labels)
        original = next((f for f in firing.values() if dict(f.labels) == wanted), None)
        notes: dict[str, str] = {}
        if original is not None:
            self.shown[escalation] = (self.clock(), original)
            notes = dict(original.annotations)
        elif escalation in self.shown:  # gone from Alertmanager: resolved; no value of now
            original = self.shown[escalation][1]
            notes = {k: v for k, v in original.annotations.items() if k not in NOW_NOTES}
        notes |= {"escalation_level": labels.get("level", ""), "escalated_to": receiver}
        fingerprint = original.fingerprint if original else ""
        if (ack := acknowledged(fingerprint)) is not None:
            notes |= {"acknowledged_by": ack[0], "acknowledged_at": str(ack[1])}
        starts = datetime.fromtimestamp(original.starts_at, UTC) if original else None
        return {
            **alert,
            "labels": wanted,
            "annotations": notes,
            "startsAt": starts.isoformat() if starts else alert.get("startsAt", ""),
            "fingerprint": fingerprint,
            "escalation_fingerprint": escalation,
        }

    async def delivered(self, alert: Mapping[str, Any]) -> None:
        """After an escalation (shown by ``show``) was delivered: record it, or its end."""
        notes = alert.get("annotations", {})
        key = (alert.get("escalation_fingerprint", ""), notes.get("escalated_to", ""))
        if alert.get("status") == "resolved":
            self._drop(key)
        elif key not in self.active and alert.get("fingerprint"):
            await self._record(key, alert)

    async def _record(self, key: tuple[str, str], alert: Mapping[str, Any]) -> None:
        labels, notes = alert.get("labels", {}), alert.get("annotations", {})
        now, level = self.clock(), notes.get("escalation_level", "")
        values = (*alert_key(labels), level, key[1])
        self.active[key] = values
        self.metrics.escalated.labels(*values).set(now)
        row = HistoryRow(
            at=datetime.fromtimestamp(now, UTC),
            transition="escalated",
            labels=labels,
            actor=key[1],
            fingerprint=alert.get("fingerprint", ""),
            starts_at=datetime.fromtimestamp(seconds(alert["startsAt"]), UTC),
            value=figure(notes, "current", "value"),
            limit=figure(notes, "limit"),
            details={"level": level},
        )
        try:
            await self.store.record(row)
        except HistoryError as e:
            log.error("escalation not recorded in alert_history: %s", e)

    def _drop(self, key: tuple[str, str]) -> None:
        values = self.active.pop(key, None)
        if values is not None:
            with contextlib.suppress(KeyError):
                self.metrics.escalated.remove(*values)

    def forget(self, firing: Mapping[str, Firing]) -> None:
        """Escalations no longer firing stop being exported; old ones are forgotten."""
        for key in [k for k in self.active if k[0] not in firing]:
            self._drop(key)
        now = self.clock()
        for escalation, (at, _) in list(self.shown.items()):
            if now - at > KEEP_S:
                del self.shown[escalation]
