"""Hourly air quality at a station: seasonal and daily cycles, shared weather, regional haze.

Levels are shaped on a mid-2010s Yangtze-delta inland city: PM2.5 around 70 µg/m³ in January
and 20 in July, haze episodes of a few days in late autumn and winter that lift every station
of neighbouring counties together, afternoon ozone in summer, NO2 and CO peaks at rush hours.
Weather noise is shared by all stations (a front clears the whole city at once).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from schemas.feeds.air import Station
from schemas.reference import County
from streams.simulate_random import Noise

if TYPE_CHECKING:
    from streams.simulate import World

# Decimal places as instruments report them (the rest: three).
DECIMALS = {"pm25": 1, "pm10": 1, "so2": 1, "no2": 1, "o3": 1, "co": 3}
# The quantities a stuck analyser or a spike hits; a spike's multiple of the true value.
FLATLINE = ("pm25", "pm10", "so2", "no2", "o3", "co")
SPIKES = (("pm25", 6, 12), ("pm10", 5, 10), ("so2", 10, 30), ("no2", 5, 10), ("co", 5, 15))
HAZE_BLOCK_H = 120  # haze episodes last 1.5 to 5 days
# Chance that a haze episode starts in a 5-day block, by the block's month (before haze_rate).
HAZE_CHANCE = {11: 0.2, 12: 0.4, 1: 0.4, 2: 0.25, 3: 0.1, 4: 0.03, 10: 0.06}


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return math.hypot((lat1 - lat2) * 111.2, (lon1 - lon2) * 111.2 * math.cos(math.radians(29.1)))


class Haze:
    """City-wide haze episodes: a centre county, a radius, a peak factor and a time envelope."""

    def __init__(
        self, noise: Noise, counties: list[County], rate: float, month_of: Callable[[int], int]
    ) -> None:
        self.noise, self.counties, self.rate, self.month_of = noise, counties, rate, month_of

    def _chance(self, block_start_hour: int) -> float:
        return self.rate * HAZE_CHANCE.get(self.month_of(block_start_hour), 0.0) / HAZE_BLOCK_H

    def boost(self, station: Station, hour: int) -> float:
        """Extra PM as a multiple of the clean level (0 outside an episode)."""
        best = 0.0
        for ep in self.noise.episodes("haze", hour, self._chance, 36, HAZE_BLOCK_H):
            centre = self.counties[int(ep.u[0] * len(self.counties))]
            radius = 40.0 + 50.0 * ep.u[1]
            distance = _km(station.lat, station.lon, centre.lat, centre.lon)
            weight = 1.0 if distance <= radius else math.exp(-(distance - radius) / 25.0)
            peak = 0.8 + 1.7 * ep.u[2]  # PM 1.8 to 3.5 times its clean level
            best = max(best, peak * weight * ep.envelope(hour, rise=0.35, fall=0.15))
        return best


def _bump(h: float, centre: float, width: float) -> float:
    return math.exp(-(((h - centre) / width) ** 2))


def air_values(
    noise: Noise, station: Station, hours: float, local: datetime, haze: float
) -> dict[str, float]:
    """Unrounded 1-hour concentrations (µg/m³; CO mg/m³) for the hour ending at ``local``."""
    sid = station.id
    doy, h = local.timetuple().tm_yday, local.hour + local.minute / 60.0
    winter = math.cos(2 * math.pi * (doy - 15) / 365.25)  # +1 mid-January, -1 mid-July
    summer = (1.0 - winter) / 2.0
    weekend = local.weekday() >= 5
    background = station.zone_class == 1
    weather = noise.smooth("weather", hours, 30.0)  # stagnation: + traps pollutants citywide
    site = noise.uniforms(sid, "site")
    white = noise.uniforms(sid, "white", int(hours))

    def jitter(i: int, sd: float) -> float:
        """Hour-to-hour measurement scatter: log-uniform with standard deviation ``sd``."""
        return math.exp(sd * (2.0 * white[i] - 1.0) * math.sqrt(3.0))

    pm_site = (0.75 if background else 1.0) * (0.88 + 0.24 * site[0])
    pm_daily = (
        1
        + 0.12 * math.cos(2 * math.pi * (h - 22) / 24)
        + 0.10 * math.cos(2 * math.pi * (h - 9) / 12)
    )
    pm_local = noise.smooth(f"{sid}|pm", hours, 5.0)
    pm25 = (45.0 + 25.0 * winter) * pm_site * pm_daily / 1.09
    pm25 *= math.exp(0.38 * weather + 0.15 * pm_local) * jitter(0, 0.06) * (1.0 + haze)
    spring_dust = math.exp(-(((doy - 90) / 25.0) ** 2))
    ratio = 1.55 + 0.15 * noise.smooth(f"{sid}|ratio", hours, 24.0) + 0.25 * spring_dust
    pm10 = pm25 * (1.0 + (ratio - 1.0) / (1.0 + 0.5 * haze))

    rush = 1 + 0.5 * _bump(h, 8.0, 1.5) + 0.6 * _bump(h, 18.5, 2.0) - 0.25 * _bump(h, 14.0, 3.0)
    no2_site = 0.4 if background else 0.85 + 0.3 * site[1]
    no2 = (30.0 + 10.0 * winter) * no2_site * rush * (0.85 if weekend else 1.0)
    no2 *= math.exp(0.2 * weather + 0.15 * noise.smooth(f"{sid}|no2", hours, 4.0))
    no2 *= jitter(1, 0.08) * (1.0 + 0.3 * haze)

    sunshine = math.exp(0.22 * noise.smooth("sunshine", hours, 48.0)) / (1.0 + 0.5 * haze)
    daylight = max(0.0, math.sin(math.pi * (h - 8) / 12)) ** 1.5 if 8 < h < 20 else 0.0
    o3_amp = (50.0 + 90.0 * summer) * sunshine * (1.1 if background else 0.95 + 0.1 * site[2])
    titration = 0.6 + 0.4 * daylight if not background else 1.0
    o3 = ((25.0 + 15.0 * summer) * titration + o3_amp * daylight) * jitter(2, 0.07)

    so2 = (12.0 + 5.0 * winter) * (0.7 + 0.6 * site[3]) * (1 + 0.1 * math.cos(2 * math.pi * h / 24))
    so2 *= math.exp(0.3 * weather) * jitter(3, 0.08) * (1.0 + 0.3 * haze)

    co = (0.62 + 0.22 * winter) * (1.0 + 0.25 * (rush - 1.0)) * (0.85 + 0.3 * site[4])
    co *= math.exp(0.2 * weather) * jitter(4, 0.05) * (1.0 + 0.4 * haze)
    return {"pm25": pm25, "pm10": pm10, "so2": so2, "no2": no2, "o3": o3, "co": co}


def values(world: World, station: Station, step: int) -> dict[str, Any]:
    """The station's ``step``-th hourly reading: its concentrations, under the city's haze."""
    hours, local = world.moment(station, step)
    haze = Haze(
        world.noise, list(world.counties), world.config.haze_rate, lambda h: world.local(h).month
    )
    boost = haze.boost(station, math.floor(hours))
    return {"period": "1h", **air_values(world.noise, station, hours, local, boost)}
