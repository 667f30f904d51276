"""Daily metered energy use of a key energy-using unit, by carrier, with its output value.

A unit uses 80-105% of its annual cap in a year (so some overrun it), split into carriers by
its industry. Kilns, boilers and furnaces run round the clock and barely slow down at weekends;
assembly and textile plants drop at weekends and nearly stop over the Spring Festival, when
migrant workers go home. Output follows energy at a unit-specific efficiency near 90% of the
intensity quota, drifting enough to breach the quota at times.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import TYPE_CHECKING

from schemas.feeds.energy import EnergyUnit
from streams.simulate_random import Noise

if TYPE_CHECKING:
    from streams.simulate import World

# Decimal places as meters report them (the rest: three).
DECIMALS = {"electricity_kwh": 0, "natural_gas_m3": 0, "heat_gj": 1, "output_10k_yuan": 1}
# The quantities a stuck meter or a spike hits; a spike's multiple of the true value.
FLATLINE = ("electricity_kwh",)
SPIKES = (("electricity_kwh", 10, 30),)

# Standard coal per physical unit (tce), GB/T 2589-2008 Appendix A; electricity at its
# equivalent (calorific) value; natural gas at the gas-field value.
TCE_PER_UNIT = {
    "electricity_kwh": 0.1229e-3,
    "raw_coal_t": 0.7143,
    "coke_t": 0.9714,
    "natural_gas_m3": 1.2143e-3,
    "fuel_oil_t": 1.4286,
    "diesel_t": 1.4571,
    "lpg_t": 1.7143,
    "heat_gj": 0.03412,
}
# Share of a unit's energy (in tce) by carrier.
MIX = {
    "cement": {"raw_coal_t": 0.80, "electricity_kwh": 0.18, "diesel_t": 0.02},
    "power": {"raw_coal_t": 0.97, "fuel_oil_t": 0.01, "electricity_kwh": 0.02},
    "textile": {"electricity_kwh": 0.50, "heat_gj": 0.35, "natural_gas_m3": 0.15},
    "chemical": {"raw_coal_t": 0.35, "electricity_kwh": 0.3, "natural_gas_m3": 0.2, "heat_gj": .15},
    "steel": {"electricity_kwh": 0.65, "natural_gas_m3": 0.15, "coke_t": 0.15, "diesel_t": 0.05},
    "paper": {"raw_coal_t": 0.45, "electricity_kwh": 0.35, "heat_gj": 0.20},
    "ceramics": {"natural_gas_m3": 0.60, "electricity_kwh": 0.30, "lpg_t": 0.10},
    "glass": {"natural_gas_m3": 0.70, "electricity_kwh": 0.30},
    "hardware": {"electricity_kwh": 0.85, "natural_gas_m3": 0.10, "diesel_t": 0.05},
    "electronics": {"electricity_kwh": 0.80, "natural_gas_m3": 0.20},
    "pharma": {"electricity_kwh": 0.45, "heat_gj": 0.40, "natural_gas_m3": 0.15},
}  # fmt: skip
CONTINUOUS = frozenset({"cement", "power", "chemical", "paper", "glass", "ceramics", "steel"})
# Lunar New Year's Day; factories close from two days before to a week after.
SPRING_FESTIVAL = {
    y: date.fromisoformat(d)
    for y, d in {
        2014: "2014-01-31", 2015: "2015-02-19", 2016: "2016-02-08", 2017: "2017-01-28",
        2018: "2018-02-16", 2019: "2019-02-05", 2020: "2020-01-25", 2021: "2021-02-12",
        2022: "2022-02-01", 2023: "2023-01-22", 2024: "2024-02-10", 2025: "2025-01-29",
        2026: "2026-02-17", 2027: "2027-02-06", 2028: "2028-01-26", 2029: "2029-02-13",
        2030: "2030-02-03",
    }.items()
}  # fmt: skip
# Other public holidays a plant treats like a Sunday (month, first day, last day).
HOLIDAYS = ((5, 1, 3), (10, 1, 7))


def day_factor(industry: str, day: date) -> float:
    """Activity of a day relative to a normal working day."""
    continuous = industry in CONTINUOUS
    festival = SPRING_FESTIVAL.get(day.year)
    offset = (day - festival).days if festival else 999
    if -2 <= offset <= 7:
        return 0.65 if continuous else 0.15
    if -7 <= offset <= 15:
        return 0.85 if continuous else 0.55
    if day.weekday() == 6 or any(m == day.month and a <= day.day <= b for m, a, b in HOLIDAYS):
        return 0.92 if continuous else 0.5
    if day.weekday() == 5:
        return 0.95 if continuous else 0.72
    return 1.0


def energy_values(noise: Noise, unit: EnergyUnit, day: date) -> dict[str, float]:
    """Unrounded consumption by carrier and output value of one day of one unit."""
    uid, days = unit.id, (day - date(1970, 1, 1)).days
    mean_factor = 0.98 if unit.industry in CONTINUOUS else 0.89
    annual = unit.annual_cap_tce * (0.80 + 0.25 * noise.uniform(uid, "year", day.year))
    tce = annual / 365.0 / mean_factor * day_factor(unit.industry, day)
    tce *= math.exp(0.06 * noise.smooth(f"{uid}|load", days, 10.0) + 0.03 * noise.gauss(uid, days))
    values = {}
    white = noise.uniforms(uid, "mix", days)
    mix = MIX.get(unit.industry, {"electricity_kwh": 1.0})
    for i, (carrier, share) in enumerate(mix.items()):
        values[carrier] = tce * share * (1.0 + 0.08 * (white[i] - 0.5)) / TCE_PER_UNIT[carrier]
    efficiency = 0.9 * math.exp(0.07 * noise.smooth(f"{uid}|efficiency", days, 20.0))
    values["output_10k_yuan"] = tce / (unit.intensity_quota_tce_per_10k_yuan * efficiency)
    return values


def values(world: World, unit: EnergyUnit, step: int) -> dict[str, float]:
    """The unit's ``step``-th metered period: its share of the day it falls in."""
    _, end = world.moment(unit, step)
    day = (end - timedelta(seconds=unit.interval_s)).date()  # the metered period's day
    per_day = energy_values(world.noise, unit, day)
    return {k: v * unit.interval_s / 86400 for k, v in per_day.items()}
