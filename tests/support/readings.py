"""Two days of realistic readings of every site of the register, ending at a given hour: hourly
air data, four-hourly water samples, two energy periods, and three days of two-hourly effluent
samples of every plant, some over their grade. What the dashboard tests store, so
that every panel has rows and every plan target a figure."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from schemas.feeds.air import AirReading
from schemas.feeds.energy import EnergyReading
from schemas.feeds.wastewater import WastewaterReading
from schemas.feeds.water import WaterReading
from schemas.reference import load_reference

AIR = {"pm25": 60.0, "pm10": 95.0, "so2": 9.0, "no2": 38.0, "co": 0.8, "o3": 120.0}
WATER = {"ph": 7.4, "do": 6.1, "codmn": 3.8, "nh3n": 0.62, "tp": 0.13, "cod": 16.0}
ENERGY = {"electricity_kwh": 1.8e6, "raw_coal_t": 420.0, "natural_gas_m3": 5.0e4}
EFFLUENT = {"cod": 30.0, "bod5": 6.0, "ss": 8.0, "tn": 12.0, "nh3n": 2.0, "tp": 0.3, "ph": 7.2,
            "fecal_coliform": 500.0, "temp": 18.0, "flow": 2000.0}  # fmt: skip
# By plant, in turn: TP 0.8 (over 1A for a plant built from 2006 only), NH3-N 7 in water at
# 11 °C (within 1A's cold-water limit), COD 55 (over 1A, within 1B): one sample in four a
# tenth higher; some COD values flagged in calibration.
EFFLUENT_OVER = ({"tp": 0.8}, {"nh3n": 7.0, "temp": 11.0}, {"cod": 55.0})
HOURS = 48
EFFLUENT_HOURS = 72  # three days: two whole local days closed, whatever the hour


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
    effluent = [
        WastewaterReading(
            plant_id=site,
            ts=end - timedelta(hours=h),
            flags={"cod": "C"} if h % 16 == 0 else None,
            **effluent_of(n, h),
        )
        for n, site in enumerate(ref.sites("wastewater"))
        for h in range(0, EFFLUENT_HOURS, 2)
    ]
    return {"air": air, "water": water, "energy": energy, "wastewater": effluent}


def effluent_of(n: int, h: int) -> dict[str, float]:
    """The values of plant ``n``'s sample ``h`` hours before the end."""
    higher = 1.1 if h % 8 == 0 else 1.0
    over = {k: v if k == "temp" else v * higher for k, v in EFFLUENT_OVER[n % 3].items()}
    return EFFLUENT | over
