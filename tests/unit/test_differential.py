"""The feeds' judgement against the judgement it replaced (``tests/oracle``), reading by reading.

Long generated series per feed, with values on every breakpoint and limit, 0-3 decimals (and
a few with more), gaps, repeated values (flat lines), spikes, ties between pollutants, values
above the AQI table, late and repeated timestamps, and the change of air editions on
2026-03-01. The new judgement takes them in batches of random sizes; every figure, alert
transition, firing alert and summary must be the old one's, exactly.

The rules changed on purpose since are in the oracle too (see its docstring): repeated
timestamps, HJ 212 data flags and the service alert, moving means over the hours present, and
the SO2 24-hour mean of note 2. The series carry flags, maintenance episodes, hours without O3
and SO2 above 800 for them.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.feeds import air, energy, water
from alerts.judge import Context, Timing, firing
from alerts.standards.editions import by_name
from alerts.summaries import AirDay
from schemas.feeds.air import AirReading, Station
from schemas.feeds.energy import EnergyReading, EnergyUnit
from schemas.feeds.water import Section, WaterReading
from tests.oracle import judge as oracle

SIZE = int(os.environ.get("ENVWATCH_DIFFERENTIAL_READINGS", "12000"))
TIMING = Timing(3600, 3600, service_s=3 * 3600)
FLAG_CHOICES = ["N", "N", "N", "S", "C", "M", "D", "F", "T", "B"]
STATIONS = [
    Station("air-x", "测试站", "yiwu", 29.3, 120.1, 2, 3600, True),
    Station("air-y", "景区站", "wucheng", 29.2, 119.6, 1, 3600, True),
]
SECTIONS = [
    Section(
        "wq-r", "河流", "义乌江", "yiwu", 29.3, 120.1, "river", "provincial", 3,
        None, None, False, 14400, True,
    ),
    Section(
        "wq-l", "水库", "横锦水库", "dongyang", 29.1, 120.4, "lake", "provincial", 2,
        None, None, True, 14400, True,
    ),
]  # fmt: skip
UNIT = EnergyUnit("eu-x", "测试企业", "lanxi", 29.2, 119.5, "cement", 2.8, 200000, 86400, True)


def breakpoints(edition: str) -> dict[str, list[float]]:
    data = by_name("aqi", edition).data["breakpoints"]
    return {k: [float(v) for v in vs] for k, vs in data.items() if k != "iaqi"}


EDGES = {**breakpoints("hj633-2012"), **{k + "_26": v for k, v in breakpoints("2026").items()}}
CAP = {"co": 200.0}


def decimals(rnd: random.Random, value: float) -> float:
    """0-3 decimals mostly, now and then more, as a careless export might send."""
    places = rnd.choice([0, 1, 1, 1, 2, 3, 3]) if rnd.random() > 0.02 else rnd.choice([4, 6])
    return round(value, places)


def edge(rnd: random.Random, pollutant: str) -> float:
    column = rnd.choice([k for k in EDGES if k.startswith(pollutant + "_")] or [pollutant + "_24h"])
    point = rnd.choice(EDGES[column])
    return max(0.0, point + rnd.choice([0.0, 0.0, -0.001, 0.001, -0.1, 0.1, -1.0]))


class Flagger:
    """Data flags on some values, and maintenance episodes of a few hours on one parameter."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.episode: tuple[str, str, int] | None = None  # parameter, flag, readings left

    def flags(self, values: dict[str, float], wire: Callable[[str], str]) -> dict[str, str]:
        rnd, out = self.rnd, {}
        if self.episode is None and values and rnd.random() < 0.01:
            self.episode = (rnd.choice(sorted(values)), rnd.choice("MC"), rnd.randint(2, 8))
        if self.episode is not None:
            parameter, flag, left = self.episode
            if parameter in values:
                out[wire(parameter)] = flag
            self.episode = (parameter, flag, left - 1) if left > 1 else None
        if rnd.random() < 0.08:
            for parameter in rnd.sample(sorted(values), rnd.randint(1, len(values))):
                out.setdefault(wire(parameter), rnd.choice(FLAG_CHOICES))
        return out


def air_series(rnd: random.Random, n: int, start: datetime) -> Iterator[AirReading]:
    level = {p: rnd.uniform(5, 120) for p in air.POLLUTANTS}
    level["co"] = rnd.uniform(0.2, 3)
    at, last = start, {}
    flagger = Flagger(rnd)
    for _ in range(n):
        at += timedelta(hours=rnd.choice([1] * 12 + [2, 3, 7, 0]))
        if rnd.random() < 0.02:
            at -= timedelta(hours=rnd.randint(1, 5))  # late
        if rnd.random() < 0.02:
            at += timedelta(minutes=30)  # not on the hour
        values: dict[str, float] = {}
        for p in air.POLLUTANTS:
            draw = rnd.random()
            if draw < 0.07 or (p == "o3" and rnd.random() < 0.1):  # O3 missing more often
                continue
            if draw < 0.22 and p in last:
                values[p] = last[p]  # repeats: flat lines
            elif draw < 0.30:
                values[p] = edge(rnd, p)
            elif draw < 0.33:
                values[p] = level[p] * rnd.uniform(5, 30)  # spikes, some above the table
            else:
                level[p] = max(0.0, level[p] * rnd.uniform(0.7, 1.4))
                values[p] = level[p]
            values[p] = min(decimals(rnd, values[p]), CAP.get(p, 5000.0))
        if not values:
            values["pm25"] = 1.0
        last |= values
        period = "24h" if rnd.random() < 0.01 else "1h"
        flags = flagger.flags(values, str) or None
        yield AirReading(station_id="air-x", ts=at, period=period, flags=flags, **values)


WATER_ITEMS = [q for q in water.ITEMS]


WIRE = {q.attr: q.wire for q in WATER_ITEMS} | {"temp": "temp"}


def water_series(rnd: random.Random, n: int, start: datetime) -> Iterator[WaterReading]:
    edition = by_name("water", "gb3838-2002").data
    at, last = start, {}
    flagger = Flagger(rnd)
    for _ in range(n):
        at += timedelta(hours=rnd.choice([4, 4, 4, 8, 0]))
        if rnd.random() < 0.02:
            at -= timedelta(hours=8)
        values: dict[str, float] = {}
        for q in rnd.sample(WATER_ITEMS, rnd.randint(1, 9)):
            row = edition.get(q.wire)
            limits = [] if not isinstance(row, dict) else next(iter(row.values()))
            if rnd.random() < 0.15 and q.attr in last:
                value = last[q.attr]
            elif limits and rnd.random() < 0.6:
                value = float(rnd.choice(limits)) + rnd.choice([0.0, -0.001, 0.001, 0.01])
            else:
                value = rnd.uniform(q.lo, min(q.hi, 20.0))
            values[q.attr] = min(max(decimals(rnd, value), q.lo), q.hi)
        if rnd.random() < 0.5:
            values["temp"] = round(rnd.uniform(2, 30), 1)
        last |= values
        flags = flagger.flags(values, WIRE.__getitem__) or None
        yield WaterReading(section_id="wq-r", ts=at, flags=flags, **values)


def energy_series(rnd: random.Random, n: int, start: datetime) -> Iterator[EnergyReading]:
    at = start
    flagger = Flagger(rnd)
    for _ in range(n):
        step = timedelta(days=rnd.choice([1, 1, 1, 2]))
        begin, at = at, at + step
        if rnd.random() < 0.02:
            begin, at = begin - 2 * step, at - 2 * step
        values = {c: decimals(rnd, rnd.uniform(0, 5e4)) for c in rnd.sample(energy.CARRIERS, 3)}
        if rnd.random() < 0.8:
            values["output_10k_yuan"] = rnd.choice([0.0, decimals(rnd, rnd.uniform(1, 5e3))])
        flags = flagger.flags(values, str) or None
        yield EnergyReading(
            unit_id="eu-x", period_start=begin, period_end=at, flags=flags, **values
        )


def reference(verdicts: list[oracle.Verdict]) -> dict[str, Any]:
    figures: dict[str, float] = {}
    for v in verdicts:
        figures |= v.figures
    return {
        "figures": figures,
        "events": sorted(_event(e) for v in verdicts for e in v.events),
        "firing": sorted(_firing(f) for f in verdicts[-1].firing) if verdicts else None,
        "summaries": [_summary(v.summary) for v in verdicts if v.summary is not None],
    }


def _event(e: Any) -> tuple[Any, ...]:
    return (e.at, e.condition, e.parameter, e.transition, e.value, e.limit, e.edition, e.site)


def _firing(f: Any) -> tuple[Any, ...]:
    return (f.condition, f.parameter, f.severity, f.value, f.limit, f.since)


def _summary(s: Any) -> tuple[Any, ...]:
    if isinstance(s, dict):
        return (s["kind"], s["site"], s.get("day"), s.get("means"), s.get("level"), s.get("class"))
    if isinstance(s, AirDay):
        return ("air_day", s.site, s.day, s.means, None, None)
    return ("section_class", s.site, None, None, s.level, s.water_class)


def compare(
    readings: list[Any],
    site: Any,
    old_judge: Callable[..., oracle.Verdict],
    module: Any,
    rnd: random.Random,
) -> int:
    """Judge ``readings`` with both; returns how many batches were compared."""
    old_state, new_state = oracle.SiteState(), module.State()
    i = batches = 0
    while i < len(readings):
        batch = readings[i : i + rnd.choice([1, 1, 2, 5, 24, 60])]
        i += len(batch)
        verdicts = [old_judge(old_state, r, site, TIMING) for r in batch]
        judged = [v for v in verdicts if v.judged]
        new_state, out = module.judge(new_state, site, batch, Context(TIMING, 0.0))
        got = {
            "figures": out.figures,
            "events": sorted(_event(e) for e in out.events),
            "firing": sorted(_firing(f) for f in firing(new_state)) if judged else None,
            "summaries": [_summary(s) for s in out.summaries],
        }
        assert got == reference(judged), f"batch ending at reading {i}: {batch[-1]}"
        assert out.judged == len(judged)
        batches += 1
    return batches


@pytest.mark.parametrize(
    ("seed", "start", "station"),
    [
        (1, datetime(2026, 1, 20, tzinfo=UTC), STATIONS[0]),  # across the 2026 edition change
        (2, datetime(2019, 6, 1, tzinfo=UTC), STATIONS[1]),  # a grade I station
    ],
)
def test_air_judgement_is_the_oracles(seed: int, start: datetime, station: Station) -> None:
    rnd = random.Random(seed)
    readings = list(air_series(rnd, SIZE, start))
    assert compare(readings, station, oracle.judge_air, air, rnd) > SIZE // 30


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.waterbody)
def test_water_judgement_is_the_oracles(section: Section) -> None:
    rnd = random.Random(3)
    readings = list(water_series(rnd, SIZE // 3, datetime(2024, 3, 1, tzinfo=UTC)))
    assert compare(readings, section, oracle.judge_water, water, rnd) > 0


def test_energy_judgement_is_the_oracles() -> None:
    rnd = random.Random(4)
    readings = list(energy_series(rnd, SIZE // 6, datetime(2023, 12, 1, tzinfo=UTC)))
    assert compare(readings, UNIT, oracle.judge_energy, energy, rnd) > 0
