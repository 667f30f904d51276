"""When an unacknowledged alert climbs to the next receiver, per severity and county. Pure.

The relay's settings give, per severity and optionally per county (``"critical/yiwu"``), the
waits before each level: ``{"critical": [1800, 1800]}`` is the duty supervisor after 30
minutes, then the director 30 minutes later. The relay exports the resulting times for every
county of the register as ``envwatch_escalation_after_seconds``; the Prometheus rules in
``alerts/rules/escalation.yml`` compare each alert's age with them and raise
``AlertEscalated``, which Alertmanager routes by ``level`` (and county) to the receivers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

ESCALATED = "AlertEscalated"  # the alertname of the rules in alerts/rules/escalation.yml
LEVELS = 2  # escalation.yml has a rule per level; alertmanager.yml a receiver per level
SEVERITIES = ("critical", "warning", "info")
CITY_WIDE = "all"  # the county label of pipeline and city-wide alerts


class EscalationConfigError(ValueError):
    pass


Delays = dict[tuple[str, str, int], float]  # (severity, county, level) -> seconds since start


def delays(config: Mapping[str, Sequence[float]], counties: Iterable[str]) -> Delays:
    """Seconds from an alert's start to each level, for every county (and the city-wide
    label); a county's own entry replaces its severity's."""
    known = {*counties, CITY_WIDE}
    for key, waits in config.items():
        severity, _, county = key.partition("/")
        if severity not in SEVERITIES:
            raise EscalationConfigError(
                f"escalation key {key!r}: the severity must be one of {', '.join(SEVERITIES)}"
            )
        if county and county not in known:
            raise EscalationConfigError(
                f"escalation key {key!r}: no county {county!r} in the register"
            )
        if not 1 <= len(waits) <= LEVELS or any(w <= 0 for w in waits):
            raise EscalationConfigError(
                f"escalation key {key!r}: give 1 to {LEVELS} waits in seconds, each above 0"
            )
    out: Delays = {}
    for severity in SEVERITIES:
        for county in sorted(known):
            waits = config.get(f"{severity}/{county}") or config.get(severity) or ()
            total = 0.0
            for level, wait in enumerate(waits, start=1):
                total += wait
                out[(severity, county, level)] = total
    return out
