"""The alert conditions: their severities and thresholds, in one place. Pure data.

The feeds' judgements (``alerts/feeds``) and the city's targets (``alerts/city.py``) apply
them; a condition that cannot be judged on a reading (an average without enough valid hours,
a pollutant not measured) is not observed, so its alert holds rather than resolving on
missing data.
"""

from __future__ import annotations

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
    "target_bad_day_budget": "warning",
    "target_class3_share": "warning",
}


class Check(NamedTuple):
    """A condition judged on one reading; a named tuple, like its observation."""

    condition: str
    parameter: str
    observation: Observation
    sustain: bool = True  # False: fires and clears on one reading (samples, sensor faults)

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.condition]
