"""Alert conditions: a reading and its site's state in, observations out. Pure.

Each function returns ``Check`` values, one per condition it could judge; a condition it
cannot judge (an average without enough valid hours, a pollutant not measured) is left out,
so the alert holds its state rather than resolving on missing data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple

from alerts.lifecycle import Observation

Severity = Literal["info", "warning", "critical"]

# Hysteresis: an alert entered above a threshold leaves only below this share of it.
AQI_CLEAR = 0.9
PM25_CLEAR = 0.9
# Flat-lining: this many identical consecutive values of one parameter.
FLATLINE_COUNT = 6
# A spike is a value this many times the median of the previous values and at least this far
# above it (µg/m³ for air, so that clean-air noise does not count).
SPIKE_FACTOR = 4.0
SPIKE_FLOOR = {"pm25": 150.0, "pm10": 250.0, "so2": 200.0, "no2": 150.0, "o3": 200.0, "co": 5.0}


SEVERITY: dict[str, Severity] = {
    "air_aqi_light": "warning",
    "air_aqi_heavy": "critical",
    "air_pm25_24h": "warning",
    "water_above_target": "warning",
    "water_class_v": "critical",
    "water_drinking_source": "critical",
    "energy_unit_intensity": "warning",
    "dq_flatline": "warning",
    "dq_spike": "warning",
    "dq_out_of_range": "info",
    "dq_service": "warning",
    "target_bad_day_budget": "warning",
    "target_class3_share": "warning",
}


class Check(NamedTuple):
    """A condition judged on one reading; a named tuple, like its observation."""

    condition: str
    parameter: str
    observation: Observation
    sustain: bool = True  # False: fires and clears on one reading (samples, sensor faults)
    for_s: float | None = None  # its own sustain time (and no clear time), when it has one

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.condition]


def above(
    condition: str,
    parameter: str,
    value: float,
    limit: float,
    clear_at: float,
    sustain: bool = True,
) -> Check:
    """Breach strictly above ``limit``; clear at or below ``clear_at``."""
    obs = Observation(breach=value > limit, clear=value <= clear_at, value=value, limit=limit)
    return Check(condition, parameter, obs, sustain)


def air_checks(aqi: int | None, pm25_24h: float | None, pm25_limit: float) -> list[Check]:
    checks = []
    if aqi is not None:
        checks.append(above("air_aqi_light", "aqi", aqi, 100, 100 * AQI_CLEAR))
        checks.append(above("air_aqi_heavy", "aqi", aqi, 200, 200 * AQI_CLEAR))
    if pm25_24h is not None:
        checks.append(
            above("air_pm25_24h", "pm25_24h", pm25_24h, pm25_limit, pm25_limit * PM25_CLEAR)
        )
    return checks


def water_checks(
    water_class: int, target_class: int, controlling: str, drinking_source: bool
) -> list[Check]:
    """Classes are 1-6 (6 is worse than V); a sample is judged alone, without a sustain time."""
    checks = [
        above(
            "water_above_target",
            controlling,
            water_class,
            target_class,
            target_class,
            sustain=False,
        ),
        above("water_class_v", controlling, water_class, 4, 4, sustain=False),
    ]
    if drinking_source:
        checks.append(
            above(
                "water_drinking_source",
                controlling,
                water_class,
                target_class,
                target_class,
                sustain=False,
            )
        )
    return checks


def energy_checks(intensity: float | None, quota: float) -> list[Check]:
    if intensity is None:
        return []
    return [above("energy_unit_intensity", "intensity", intensity, quota, quota, sustain=False)]


def _median(values: Sequence[float]) -> float:
    """The median, as statistics.median has it, without its generality (it runs per reading)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def quality_checks(recent: Mapping[str, Sequence[float]]) -> list[Check]:
    """Sensor faults per parameter, from its recent values (oldest first, newest last)."""
    checks = []
    for parameter, values in recent.items():
        if len(values) >= FLATLINE_COUNT:
            tail = values[-FLATLINE_COUNT:]
            flat = tail.count(tail[-1]) == FLATLINE_COUNT
            obs = Observation(breach=flat, clear=not flat, value=tail[-1], limit=FLATLINE_COUNT)
            checks.append(Check("dq_flatline", parameter, obs, sustain=False))
        floor = SPIKE_FLOOR.get(parameter.partition("_")[0])
        if floor is not None and len(values) >= 4:
            median = _median(values[:-1])
            newest = values[-1]
            spike = newest > SPIKE_FACTOR * median and newest - median > floor
            obs = Observation(
                breach=spike,
                clear=not spike,
                value=newest,
                limit=max(SPIKE_FACTOR * median, median + floor),
            )
            checks.append(Check("dq_spike", parameter, obs, sustain=False))
    return checks


def range_checks(subs: Mapping[str, tuple[float, float]]) -> list[Check]:
    """Inputs above the top breakpoint of the AQI table (key -> (value, top)): physically
    possible, reported as IAQI 500, and worth a look at the instrument."""
    return [
        Check(
            "dq_out_of_range",
            key,
            Observation(breach=value > top, clear=value <= top, value=value, limit=top),
            sustain=False,
        )
        for key, (value, top) in subs.items()
    ]
