"""The alert conditions: their severities and thresholds, in one place. Pure data.

The feeds' judgements (``alerts/feeds``) and the city's targets (``alerts/city.py``) apply
them; a condition that cannot be judged on a reading (an average without enough valid hours,
a pollutant not measured) is not observed, so its alert holds rather than resolving on
missing data. The notification relay (``alerts/notify``) reads here how each condition stands
to its limit, to word its messages.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from alerts.lifecycle import Observation

Severity = Literal["info", "warning", "critical"]
# How a condition's value stands to its limit when it breaches: above it, below it (the plan
# targets), or not comparable (a flat line's limit is a count of readings, not a value).
Breach = Literal["above", "below"] | None

# Hysteresis: an alert entered above a threshold leaves only below this share of it.
AQI_CLEAR = 0.9
PM25_CLEAR = 0.9
# Flat-lining: this many identical consecutive values of one parameter.
FLATLINE_COUNT = 6
# A spike is a value this many times the median of the previous values and at least this far
# above it (µg/m³ for air, so that clean-air noise does not count).
SPIKE_FACTOR = 4.0
SPIKE_FLOOR = {"pm25": 150.0, "pm10": 250.0, "so2": 200.0, "no2": 150.0, "o3": 200.0, "co": 5.0}


class Condition(NamedTuple):
    severity: Severity
    breach: Breach = "above"
    clear_share: float = 1.0  # below 1: the alert leaves only at this share of its limit


# Every condition the worker judges: what the alert lifecycle, the exports and the
# notification texts know of it.
CONDITIONS: dict[str, Condition] = {
    "air_aqi_light": Condition("warning", clear_share=AQI_CLEAR),
    "air_aqi_heavy": Condition("critical", clear_share=AQI_CLEAR),
    "air_pm25_24h": Condition("warning", clear_share=PM25_CLEAR),
    "water_above_target": Condition("warning"),
    "water_class_v": Condition("critical"),
    "water_drinking_source": Condition("critical"),
    "energy_unit_intensity": Condition("warning"),
    "wastewater_over_grade": Condition("warning"),  # a plant's day over its required grade
    "wastewater_over_1b": Condition("critical"),  # over the loosest grade of GB 18918 Table 1
    "dq_flatline": Condition("warning", breach=None),
    "dq_spike": Condition("warning"),
    "dq_out_of_range": Condition("info"),
    "dq_service": Condition("warning"),  # hours in maintenance or calibration, against the limit
    "target_bad_day_budget": Condition("warning", breach="below"),
    "target_class3_share": Condition("warning", breach="below"),
}
SEVERITY: dict[str, Severity] = {name: c.severity for name, c in CONDITIONS.items()}


def clear_at(condition: str, limit: float) -> float:
    """The value at or below which a condition breaching above ``limit`` clears."""
    return limit * CONDITIONS[condition].clear_share


class Check(NamedTuple):
    """A condition judged on one reading; a named tuple, like its observation."""

    condition: str
    parameter: str
    observation: Observation
    sustain: bool = True  # False: fires and clears on one reading (samples, sensor faults)

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.condition]
