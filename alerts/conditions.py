"""Alert conditions: a reading and its site's state in, observations out. Pure.

Each function returns ``Check`` values, one per condition it could judge; a condition it
cannot judge (an average without enough valid hours, a pollutant not measured) is left out,
so the alert holds its state rather than resolving on missing data.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

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


@dataclass(frozen=True, slots=True)
class Check:
    condition: str
    parameter: str
    severity: Severity
    observation: Observation
    sustain: bool = True  # False: fires and clears on one reading (samples, sensor faults)


def above(
    condition: str,
    parameter: str,
    severity: Severity,
    value: float,
    limit: float,
    clear_at: float,
    sustain: bool = True,
) -> Check:
    """Breach strictly above ``limit``; clear at or below ``clear_at``."""
    obs = Observation(breach=value > limit, clear=value <= clear_at, value=value, limit=limit)
    return Check(condition, parameter, severity, obs, sustain)


def air_checks(aqi: int | None, pm25_24h: float | None, pm25_limit: float) -> list[Check]:
    checks = []
    if aqi is not None:
        checks.append(above("air_aqi_light", "aqi", "warning", aqi, 100, 100 * AQI_CLEAR))
        checks.append(above("air_aqi_heavy", "aqi", "critical", aqi, 200, 200 * AQI_CLEAR))
    if pm25_24h is not None:
        checks.append(
            above(
                "air_pm25_24h", "pm25_24h", "warning", pm25_24h, pm25_limit, pm25_limit * PM25_CLEAR
            )
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
            "warning",
            water_class,
            target_class,
            target_class,
            sustain=False,
        ),
        above("water_class_v", controlling, "critical", water_class, 4, 4, sustain=False),
    ]
    if drinking_source:
        checks.append(
            above(
                "water_drinking_source",
                controlling,
                "critical",
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
    return [
        above(
            "energy_unit_intensity", "intensity", "warning", intensity, quota, quota, sustain=False
        )
    ]


def quality_checks(recent: Mapping[str, Sequence[float]]) -> list[Check]:
    """Sensor faults per parameter, from its recent values (oldest first, newest last)."""
    checks = []
    for parameter, values in recent.items():
        if len(values) >= FLATLINE_COUNT:
            tail = values[-FLATLINE_COUNT:]
            flat = all(v == tail[-1] for v in tail)
            obs = Observation(breach=flat, clear=not flat, value=tail[-1], limit=FLATLINE_COUNT)
            checks.append(Check("dq_flatline", parameter, "warning", obs, sustain=False))
        floor = SPIKE_FLOOR.get(parameter.split("_", 1)[0])
        if floor is not None and len(values) >= 4:
            median = statistics.median(values[:-1])
            newest = values[-1]
            spike = newest > SPIKE_FACTOR * median and newest - median > floor
            obs = Observation(
                breach=spike,
                clear=not spike,
                value=newest,
                limit=max(SPIKE_FACTOR * median, median + floor),
            )
            checks.append(Check("dq_spike", parameter, "warning", obs, sustain=False))
    return checks
