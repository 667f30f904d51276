"""Every metric the relay exports (``GET /metrics``, scraped by Prometheus with the token).

The acknowledgement and escalation series are what the escalation rules
(``alerts/rules/escalation.yml``) and the command-centre's alert panel read: each is present
while its alert instance fires, and labelled like the alert (``ALERT_LABELS``) so that PromQL
can match it to ``ALERTS``.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge

# The labels that tell the project's alert instances apart (every rule has alertname and
# county; the worker's add site, parameter and feed), and the severity beside them.
ALERT_KEY = ("alertname", "county", "site", "parameter", "feed")
ALERT_LABELS = (*ALERT_KEY, "severity")
ACKNOWLEDGED = "envwatch_alert_acknowledged_timestamp_seconds"
ESCALATED = "envwatch_alert_escalated_timestamp_seconds"
# An alert's state as the command centre shows it (dashboards/command_centre.py).
STATES = {0: "未确认", 1: "已升级", 2: "已确认"}


def alert_key(labels: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(labels.get(name, "") for name in ALERT_LABELS)


class RelayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.acknowledged = Gauge(
            ACKNOWLEDGED,
            "When a firing alert was acknowledged, and by whom",
            [*ALERT_LABELS, "acknowledged_by"],
            registry=registry,
        )
        self.escalated = Gauge(
            ESCALATED,
            "When a firing alert was escalated to a receiver, by level",
            [*ALERT_LABELS, "level", "escalated_to"],
            registry=registry,
        )
        self.escalation_after = Gauge(
            "envwatch_escalation_after_seconds",
            "How long after it began an unacknowledged alert climbs to a level",
            ["severity", "county", "level"],
            registry=registry,
        )
        self.acknowledgements = Counter(
            "envwatch_acknowledgements",
            "Alert instances acknowledged, by the way it was done",
            ["via"],
            registry=registry,
        )
        self.refused = Counter(
            "envwatch_acknowledgements_refused",
            "Acknowledgements refused, by reason (forged, expired, resolved, malformed)",
            ["reason"],
            registry=registry,
        )
