"""Which values of a reading count, by their HJ 212 data flags, and the service alert. Pure.

A value flagged invalid (the analyser stopped, in maintenance or calibration, faulty, over its
range, or cut off from its logger) is stored with its flag but enters no mean, no index and no
breach check, and counts as missing for the validity rules. An analyser kept in maintenance
or calibration (flags M, C) for longer than the configured time raises ``dq_service`` for that
parameter; a valid value of the parameter ends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from alerts.judge import Alerts, key
from schemas.hj212.flags import SERVICE, VALID

NONE: frozenset[str] = frozenset()


def invalid(flags: Mapping[str, str] | None) -> frozenset[str]:
    """The parameters (wire names) whose values the flags make invalid."""
    if not flags:
        return NONE
    return frozenset(p for p, flag in flags.items() if flag not in VALID)


def valid_values(
    names: Sequence[str], values: Iterable[float | None], bad: frozenset[str]
) -> dict[str, float]:
    """A reading's values by name, those it does not carry or whose flags make them invalid
    (``bad``, from :func:`invalid`) left out: they count as missing."""
    return {n: v for n, v in zip(names, values, strict=True) if v is not None and n not in bad}


def service(
    alerts: Alerts, flags: Mapping[str, str] | None, valid: Iterable[str], stamp: float
) -> None:
    """Step the service alerts of a reading: ``valid`` are the parameters it carries with a
    valid value (they end an alert); ``flags`` those it carries flagged. Cheap when no value
    is flagged and no analyser of the site is in service."""
    open_alerts = alerts.alerts
    if not flags and not any(name.startswith(_PREFIX) for name in open_alerts):
        return
    limit = alerts.timing.service_s
    for parameter, flag in (flags or {}).items():
        if flag in SERVICE:
            name = _PREFIX + parameter
            began = open_alerts[name].since if name in open_alerts else stamp
            hours = (stamp - began) / 3600
            alerts.observe(name, True, False, hours, limit / 3600, for_s=limit)
    for parameter in valid:
        name = _PREFIX + parameter
        if name in open_alerts:
            alerts.observe(name, False, True, 0.0, limit / 3600, for_s=limit)


_PREFIX = key("dq_service", "")
