"""The effluent of an urban wastewater treatment plant: steady treatment, cold winters, upsets.

A plant normally runs at a third to two thirds of the GB 18918 limits of its required grade,
so a Grade 1A plant mostly meets 1A. The water follows the season (about 27 °C in summer,
13-14 °C in January, a few cold spells at or below 12 °C, when NH3-N's cold-water limit
applies) and nitrification slows in the cold, so winter NH3-N runs higher. NH3-N and COD follow
the day's influent load a few hours late; the flow follows the city's daily rhythm around the
plant's load on its capacity. Process upsets of half a day to three days (nitrification
failing, solids washing out after a storm or with bulking sludge, disinfection failing) lift
their items to around the limits and past them, which is when a plant's days go over its
grade.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING

from alerts.standards import discharge
from alerts.standards.editions import all_editions
from schemas.feeds.wastewater import Plant
from streams.simulate_random import Noise

if TYPE_CHECKING:
    from streams.simulate import World

# Decimal places as the analysers and the flow meter report them.
DECIMALS = {"cod": 1, "bod5": 1, "ss": 1, "tn": 2, "nh3n": 3, "tp": 3, "ph": 2,
            "fecal_coliform": 0, "temp": 1, "flow": 1}  # fmt: skip
# The online analysers a stuck instrument or a spike hits; a spike's multiple of the true value.
FLATLINE = ("cod", "nh3n", "tp", "tn", "ph")
SPIKES = (("cod", 4, 8), ("nh3n", 5, 15), ("tp", 4, 10), ("ss", 3, 6))
UPSET_H = (12, 72)  # an upset lasts half a day to three days


@cache
def limits(grade: str, built: date) -> dict[str, float]:
    """The plant's own limits (warm water) by the newest edition of GB 18918 shipped."""
    newest = [e for e in all_editions() if e.family == discharge.FAMILY][-1]
    found = discharge.grade_limits(newest, grade, None, built)
    return {item: float(v) for item, v in found.items() if not isinstance(v, tuple)}


def values(world: World, plant: Plant, step: int) -> dict[str, float]:
    """The plant's ``step``-th effluent sample."""
    hours, local = world.moment(plant, step)
    return effluent_values(world.noise, plant, hours, local, world.config.plant_upsets_per_year)


def effluent_values(
    noise: Noise, plant: Plant, hours: float, local: datetime, upsets_per_year: float
) -> dict[str, float]:
    """Unrounded effluent quality of one sample (mg/L; pH; count/L; °C; m³/h)."""
    pid, limit = plant.id, limits(plant.required_grade, plant.built)
    doy, h = local.timetuple().tm_yday, local.hour + local.minute / 60.0
    winter = math.cos(2 * math.pi * (doy - 15) / 365.25)  # +1 mid-January, -1 mid-July
    level = noise.uniforms(pid, "level")
    white = noise.uniforms(pid, "white", int(hours))

    def drift(name: str, i: int) -> float:
        """Slow and fast wandering around the plant's level, plus analyser scatter."""
        return noise.drift(f"{pid}|{name}", hours, white[i], (120.0, 6.0), (0.12, 0.08, 0.05))

    temp = 20.5 - 7.0 * winter + 0.3 * math.cos(2 * math.pi * (h - 16) / 24)
    temp += 1.3 * noise.smooth(f"{pid}|temp", hours, 96.0) + 0.1 * (2.0 * white[6] - 1.0)
    cold = max(0.0, 15.0 - temp) / 5.0  # nitrification slows below about 15 °C
    load = 1.0 + 0.12 * math.cos(2 * math.pi * (h - 17) / 24)  # the influent's day, hours late

    cod = limit["cod"] * (0.35 + 0.2 * level[0]) * load * drift("cod", 0)
    ss = limit["ss"] * (0.4 + 0.2 * level[1]) * drift("ss", 1)
    nh3n = limit["nh3n"] * (0.12 + 0.1 * level[2]) * (1.0 + 1.5 * cold) * load
    nh3n *= drift("nh3n", 2)
    tn = nh3n + limit["tn"] * (0.45 + 0.15 * level[3]) * drift("tn", 3)
    tp = limit["tp"] * (0.35 + 0.25 * level[4]) * drift("tp", 4)
    fecal = limit["fecal_coliform"] * (0.12 + 0.15 * level[5])
    fecal *= math.exp(0.6 * noise.smooth(f"{pid}|fecal", hours, 12.0))

    for ev in noise.episodes(f"{pid}|upset", int(hours), upsets_per_year / 8760, *UPSET_H):
        env = ev.envelope(hours, rise=0.2, fall=0.4)
        peak = 0.9 + 1.0 * ev.u[0]  # 0.9 to 1.9 times the plant's limit at its worst
        if ev.u[1] < 0.4:  # nitrification failing: ammonia passes through
            nh3n += env * max(0.0, limit["nh3n"] * (peak + 0.3) - nh3n)
            tn += env * limit["nh3n"] * (peak + 0.3)
        elif ev.u[1] < 0.8:  # solids washing out: suspended solids with their COD and TP
            ss += env * max(0.0, limit["ss"] * peak - ss)
            cod += env * max(0.0, limit["cod"] * (0.6 + 0.4 * peak) - cod)
            tp += env * max(0.0, limit["tp"] * peak - tp)
        else:  # disinfection failing
            fecal += env * limit["fecal_coliform"] * 3.0 * peak

    bod5 = cod * (0.2 + 0.06 * level[6]) * drift("bod5", 5)
    ph = 7.1 + 0.15 * noise.smooth(f"{pid}|ph", hours, 48.0) - 0.05 * (1.0 - winter)
    ph += 0.04 * math.cos(2 * math.pi * (h - 15) / 24) + 0.03 * (2.0 * white[7] - 1.0)
    day_rhythm = (
        1
        + 0.22 * math.cos(2 * math.pi * (h - 11) / 24)
        + 0.08 * math.cos(2 * math.pi * (h - 20) / 12)
    )
    flow = plant.capacity_m3_d / 24 * (0.75 + 0.15 * level[7]) * day_rhythm
    flow *= math.exp(0.08 * noise.smooth(f"{pid}|flow", hours, 36.0))
    return {"cod": cod, "bod5": bod5, "ss": ss, "tn": tn, "nh3n": nh3n, "tp": tp, "ph": ph,
            "fecal_coliform": fecal, "temp": temp, "flow": flow}  # fmt: skip
