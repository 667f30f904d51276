"""Sensor faults judged from a parameter's recent values: flat-lining and spikes. Pure.

Judged on the parameters a reading carries. A flat line is a run of identical values, kept
as a count; a spike needs its newest value above the parameter's floor, so below it the
median is never taken. A check that neither breaches nor has an open alert is skipped (see
:class:`alerts.judge.Alerts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import msgspec

from alerts.conditions import FLATLINE_COUNT, SPIKE_FACTOR, SPIKE_FLOOR
from alerts.judge import Alerts, key

RECENT = 8  # values kept per parameter


class Recent(msgspec.Struct, array_like=True):
    """A parameter's last values, oldest first, and how many of the newest are identical."""

    values: list[float] = []
    run: int = 0


class Keys(NamedTuple):
    """What the checks of one parameter need, made once."""

    flat: str
    spike: str
    floor: float | None


def keys_of(parameters: Sequence[str]) -> dict[str, Keys]:
    return {
        p: Keys(key("dq_flatline", p), key("dq_spike", p), SPIKE_FLOOR.get(p)) for p in parameters
    }


def judge(
    alerts: Alerts, recent: dict[str, Recent], parameter: str, value: float, keys: Keys
) -> None:
    """Remember the newest value of a parameter and judge its flat-line and spike checks."""
    kept = recent.get(parameter)
    if kept is None:
        kept = recent[parameter] = Recent()
    values = kept.values
    kept.run = kept.run + 1 if values and values[-1] == value else 1
    values.append(value)
    if len(values) > RECENT:
        del values[0]
    flat = kept.run >= FLATLINE_COUNT
    open_alerts = alerts.alerts
    if flat or keys.flat in open_alerts:
        alerts.observe(keys.flat, flat, not flat, value, FLATLINE_COUNT, sustain=False)
    floor = keys.floor
    if floor is None or len(values) < 4 or not (value > floor or keys.spike in open_alerts):
        return
    median = _median(values[:-1])
    spike = value > SPIKE_FACTOR * median and value - median > floor
    if spike or keys.spike in open_alerts:
        limit = max(SPIKE_FACTOR * median, median + floor)
        alerts.observe(keys.spike, spike, not spike, value, limit, sustain=False)


def _median(values: Sequence[float]) -> float:
    """The median, as statistics.median has it, without its generality."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
