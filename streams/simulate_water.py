"""Surface-water quality at a section: levels set by its target class, seasons, pollution events.

A section normally sits at 45-75% of its target class limits (GB 3838-2002), so it mostly
meets its target and now and then drifts past it. Degradation events (a sewage overflow, farm
runoff after rain) lift NH3-N, TP and CODMn above the target class, sometimes past Class V,
for hours to days. Temperature follows the season and DO follows temperature (warm water holds
less oxygen), which is why summer is when DO alerts happen.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING

from schemas.feeds.water import Section
from streams.simulate_random import Noise

if TYPE_CHECKING:
    from streams.simulate import World

# Decimal places as the analysers report them.
DECIMALS = {"ph": 2, "do": 2, "codmn": 2, "nh3n": 3, "tp": 3, "tn": 2, "temp": 1}
# The quantities a stuck analyser or a spike hits; a spike's multiple of the true value.
FLATLINE = ("ph", "do", "codmn", "nh3n", "tp", "temp")
SPIKES = (("nh3n", 10, 30), ("tp", 10, 30), ("codmn", 5, 10), ("do", 2.5, 3.0))

# GB 3838-2002 Table 1 limits for classes I..V (mg/L).
CODMN = (2.0, 4.0, 6.0, 10.0, 15.0)
NH3N = (0.15, 0.5, 1.0, 1.5, 2.0)
TP_RIVER = (0.02, 0.1, 0.2, 0.3, 0.4)
TP_LAKE = (0.01, 0.025, 0.05, 0.1, 0.2)
EVENT_MAX_H = 120  # degradation events last 6 hours to 5 days


def saturation_do(temp_c: float) -> float:
    """Oxygen solubility in fresh water at sea level (mg/L), cubic fit to APHA tables."""
    return 14.62 - 0.3898 * temp_c + 0.006969 * temp_c**2 - 0.00005897 * temp_c**3


def water_values(
    noise: Noise, section: Section, hours: float, local: datetime, events_per_year: float
) -> dict[str, float]:
    """Unrounded automatic-station parameters of one sample (mg/L; pH; °C)."""
    sid, c = section.id, section.target_class - 1
    lake = section.waterbody == "lake"
    doy, h = local.timetuple().tm_yday, local.hour + local.minute / 60.0
    winter = math.cos(2 * math.pi * (doy - 15) / 365.25)
    summer = (1.0 - winter) / 2.0
    level = noise.uniforms(sid, "level")
    white = noise.uniforms(sid, "white", int(hours))

    def drift(name: str, i: int) -> float:
        """Slow and fast wandering around the section's level, plus sampling scatter."""
        return noise.drift(f"{sid}|{name}", hours, white[i], (96.0, 8.0), (0.12, 0.15, 0.07))

    tp_limits = TP_LAKE if lake else TP_RIVER
    codmn = CODMN[c] * (0.45 + 0.3 * level[0]) * (1 + 0.1 * summer) * drift("codmn", 0)
    nh3n = NH3N[c] * (0.45 + 0.3 * level[1]) * (1 + 0.25 * winter) * drift("nh3n", 1)
    tp = tp_limits[c] * (0.45 + 0.3 * level[2]) * (0.85 + 0.3 * summer) * drift("tp", 2)
    tn_base = 0.4 + 0.4 * level[3] if lake else 1.0 + 1.0 * level[3] + 0.3 * (c - 2)
    tn = tn_base * (1 + 0.15 * winter) * drift("tn", 3)

    oxygen_demand = 0.0
    for ev in noise.episodes(f"{sid}|event", int(hours), events_per_year / 8760, 6, EVENT_MAX_H):
        env = ev.envelope(hours, rise=0.15, fall=0.4)
        sewage = ev.u[0] < 0.65  # else farm runoff: phosphorus and organics more than ammonia
        nh3n_peak = NH3N[c] * (1.3 + 1.7 * ev.u[1]) * (1.0 if sewage else 0.5)
        nh3n += env * max(0.0, nh3n_peak - nh3n)
        tp += env * max(0.0, tp_limits[c] * (1.2 + 1.3 * ev.u[2]) - tp)
        codmn += env * max(0.0, CODMN[c] * (1.1 + 0.9 * ev.u[3]) - codmn)
        tn += env * nh3n_peak
        oxygen_demand = max(oxygen_demand, env * (0.35 if sewage else 0.15))

    if lake:
        temp = 18.0 - 10.0 * math.cos(2 * math.pi * (doy - 25) / 365.25)
        temp += 0.5 * math.cos(2 * math.pi * (h - 16) / 24)
    else:
        temp = 18.5 - 11.0 * math.cos(2 * math.pi * (doy - 20) / 365.25)
        temp += 1.0 * math.cos(2 * math.pi * (h - 15) / 24)
    temp += 0.6 * noise.smooth(f"{sid}|temp", hours, 72.0) + 0.1 * (2.0 * white[4] - 1.0)
    photosynthesis = 0.04 * math.cos(2 * math.pi * (h - 15) / 24)
    saturation = 0.93 - 0.04 * max(c - 1, 0) + photosynthesis - oxygen_demand
    saturation += 0.03 * noise.smooth(f"{sid}|do", hours, 24.0)
    do = saturation_do(temp) * saturation
    algae = 0.3 * summer if lake else 0.1 * summer
    ph = 7.3 + algae + 0.15 * math.cos(2 * math.pi * (h - 15) / 24)
    ph += 0.12 * noise.smooth(f"{sid}|ph", hours, 48.0) - 0.2 * oxygen_demand
    return {"ph": ph, "do": do, "codmn": codmn, "nh3n": nh3n, "tp": tp, "tn": tn, "temp": temp}


def values(world: World, section: Section, step: int) -> dict[str, float]:
    """The section's ``step``-th sample."""
    hours, local = world.moment(section, step)
    return water_values(world.noise, section, hours, local, world.config.water_events_per_year)
