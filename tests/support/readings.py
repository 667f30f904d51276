"""Two days of realistic readings of every site of the register, ending at a given hour: hourly
air data, four-hourly water samples and two energy periods. What the dashboard tests store, so
that every panel has rows and every plan target a figure."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from schemas.feeds.air import AirReading
from schemas.feeds.energy import EnergyReading
from schemas.feeds.water import WaterReading
from schemas.reference import load_reference

AIR = {"pm25": 60.0, "pm10": 95.0, "so2": 9.0, "no2": 38.0, "co": 0.8, "o3": 120.0}
WATER = {"ph": 7.4, "do": 6.1, "codmn": 3.8, "nh3n": 0.62, "tp": 0.13, "cod": 16.0}
ENERGY = {"electricity_kwh": 1.8e6, "raw_coal_t": 420.0, "natural_gas_m3": 5.0e4}
HOURS = 48


def two_days(end: datetime) -> dict[str, list[Any]]:
    """Each feed's readings of the 48 hours to ``end``."""
    ref = load_reference()
    air = [
        AirReading(
            station_id=site,
            ts=end - timedelta(hours=h),
            **{p: v * (1 + 0.3 * ((h + n) % 5)) for p, v in AIR.items()},
        )
        for n, site in enumerate(ref.sites("air"))
        for h in range(HOURS)
    ]
    water = [
        WaterReading(section_id=site, ts=end - timedelta(hours=h), **WATER)
        for site in ref.sites("water")
        for h in range(0, HOURS, 4)
    ]
    energy = [
        EnergyReading(
            unit_id=site,
            period_start=end - timedelta(hours=h),
            period_end=end - timedelta(hours=h - 1),
            output_10k_yuan=900.0,
            **ENERGY,
        )
        for site in ref.sites("energy")
        for h in (1, 25)
    ]
    return {"air": air, "water": water, "energy": energy}
