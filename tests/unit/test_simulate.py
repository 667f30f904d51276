"""The simulator is deterministic, speaks the feed contracts, and looks like the real city."""

from __future__ import annotations

import dataclasses
import itertools
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import msgspec
import orjson
import pytest

from alerts.feeds import wastewater
from alerts.judge import Context, Timing
from schemas.feeds import FEEDS
from schemas.feeds.wastewater import WastewaterReading
from schemas.reference import Reference, load_reference
from streams.simulate import SimConfig, Simulator, physics
from streams.simulate_energy import TCE_PER_UNIT, day_factor
from streams.simulate_faults import FaultRates
from streams.simulate_water import NH3N

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEED = 2016


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


@pytest.fixture(scope="module")
def ref() -> Reference:
    return load_reference()


def only(ref: Reference, feed: str) -> Reference:
    """The register with the sites of one feed only, to keep a long simulated span quick."""
    sites = {name: ref.sites(name) if name == feed else {} for name in ref.by_feed}
    return dataclasses.replace(ref, by_feed=MappingProxyType(sites))


def by_site(readings: list[tuple[str, str, dict]]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for _, site, payload in readings:
        out[site].append(payload)
    return out


def tce(payload: dict) -> float:
    return sum(v * TCE_PER_UNIT[k] for k, v in payload.items() if k in TCE_PER_UNIT)


@pytest.fixture(scope="module")
def winter(ref: Reference) -> list[tuple[str, str, dict]]:
    """Hourly air, December and January, default episode rates, perfect instruments."""
    sim = Simulator(only(ref, "air"), SEED, SimConfig.without_faults())
    return sim.readings_between(at(2016, 12, 1), at(2017, 2, 1))


# Determinism and the contract


def test_same_seed_same_readings_however_chunked(ref: Reference) -> None:
    start, end = at(2017, 1, 20), at(2017, 1, 23, 5)
    whole = Simulator(ref, SEED).readings_between(start, end)
    cuts = [start, at(2017, 1, 20, 0, 0, 1), at(2017, 1, 21, 10, 17), at(2017, 1, 22, 16), end]
    fresh = Simulator(ref, SEED)  # a new instance: no state may carry over
    chunked = [r for a, b in itertools.pairwise(cuts) for r in fresh.readings_between(a, b)]
    assert chunked == whole
    assert {feed for feed, _, _ in whole} == set(FEEDS)
    in_utc = Simulator(ref, SEED).readings_between(start.astimezone(UTC), end.astimezone(UTC))
    assert in_utc == whole
    assert Simulator(ref, SEED + 1).readings_between(start, end) != whole


def test_range_is_half_open(ref: Reference) -> None:
    sim = Simulator(only(ref, "air"), SEED, SimConfig.without_faults())
    hour = sim.readings_between(at(2017, 3, 1, 8), at(2017, 3, 1, 9))
    assert {p["ts"] for _, _, p in hour} == {"2017-03-01T08:00:00+08:00"}
    assert len(hour) == len(ref.sites("air"))
    assert sim.readings_between(at(2017, 3, 1, 8, 0, 1), at(2017, 3, 1, 9)) == []


def test_naive_time_is_refused(ref: Reference) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Simulator(ref, SEED).readings_between(datetime(2017, 1, 1), at(2017, 1, 2))


@pytest.mark.parametrize("start", [at(2016, 2, 6), at(2016, 7, 20)])
def test_every_payload_decodes_against_its_feed_struct(ref: Reference, start: datetime) -> None:
    noisy = SimConfig(faults=FaultRates(silence_per_day=0.5, flatline_per_day=0.5, spike_rate=0.2))
    readings = Simulator(ref, SEED, noisy).readings_between(start, start + timedelta(days=3))
    assert {feed for feed, _, _ in readings} == set(FEEDS)
    for feed, site, payload in readings:
        for raw in (orjson.dumps(payload), msgspec.json.encode(payload)):
            decoded = msgspec.json.decode(raw, type=FEEDS[feed].reading)
            assert decoded.site() == site
        assert set(payload) - {"period"} <= {c.attr for c in FEEDS[feed].columns}
        stamp = payload.get("ts") or payload["period_end"]
        assert stamp.endswith("+08:00")
        if feed == "air":
            assert payload["period"] == "1h"


# Realism


def test_winter_pm25_is_higher_than_summer(
    ref: Reference, winter: list[tuple[str, str, dict]]
) -> None:
    summer = Simulator(only(ref, "air"), SEED, SimConfig.without_faults()).readings_between(
        at(2017, 6, 15), at(2017, 7, 15)
    )
    winter_mean = statistics.mean(p["pm25"] for _, _, p in winter)
    summer_mean = statistics.mean(p["pm25"] for _, _, p in summer)
    assert winter_mean > 1.8 * summer_mean
    afternoon = [p["o3"] for _, _, p in summer if p["ts"][11:13] in ("14", "15")]
    night = [p["o3"] for _, _, p in summer if p["ts"][11:13] in ("02", "03")]
    assert statistics.mean(afternoon) > 3 * statistics.mean(night)
    assert statistics.mean(afternoon) > 2 * statistics.mean(
        p["o3"] for _, _, p in winter if p["ts"][11:13] in ("14", "15")
    )
    assert 0.3 < statistics.mean(p["co"] for _, _, p in winter + summer) < 1.5


def test_winter_haze_lifts_neighbouring_counties_together(
    ref: Reference, winter: list[tuple[str, str, dict]]
) -> None:
    polluted: dict[str, set[str]] = defaultdict(set)
    for _, site, p in winter:
        if p["pm25"] > 115:
            polluted[p["ts"]].add(ref.sites("air")[site].county)
    assert polluted, "no hour above 115 µg/m³ (AQI 150) in Dec-Jan"
    assert max(len(counties) for counties in polluted.values()) >= 4
    assert any(p["pm25"] > 150 for _, _, p in winter)  # AQI above 200 at times


def test_rush_hours_raise_no2(winter: list[tuple[str, str, dict]]) -> None:
    hour: dict[str, list[float]] = defaultdict(list)
    for _, _, p in winter:
        hour[p["ts"][11:13]].append(p["no2"])
    assert statistics.mean(hour["08"]) > 1.2 * statistics.mean(hour["13"])
    assert statistics.mean(hour["19"]) > 1.2 * statistics.mean(hour["13"])


def test_water_do_falls_in_summer_and_events_break_the_target(ref: Reference) -> None:
    sim = Simulator(only(ref, "water"), SEED, SimConfig.without_faults(water_events_per_year=12))
    jan = sim.readings_between(at(2017, 1, 1), at(2017, 2, 1))
    jul = sim.readings_between(at(2017, 7, 1), at(2017, 8, 1))
    assert (
        statistics.mean(p["temp"] for _, _, p in jul)
        > statistics.mean(p["temp"] for _, _, p in jan) + 12
    )
    assert (
        statistics.mean(p["do"] for _, _, p in jul)
        < statistics.mean(p["do"] for _, _, p in jan) - 2
    )
    above = {s for _, s, p in jan + jul if p["nh3n"] > NH3N[ref.sites("water")[s].target_class - 1]}
    assert len(above) >= 3


def test_energy_is_lower_at_weekends_and_spring_festival(ref: Reference) -> None:
    sim = Simulator(only(ref, "energy"), SEED, SimConfig.without_faults())
    readings = sim.readings_between(at(2017, 1, 1), at(2017, 4, 1))  # Spring Festival 28 Jan
    daily: dict[date, float] = defaultdict(float)
    for _, _, p in readings:
        daily[date.fromisoformat(p["period_start"][:10])] += tce(p)
    weekdays = [v for d, v in daily.items() if d.weekday() < 5 and d.month == 3]
    weekends = [v for d, v in daily.items() if d.weekday() >= 5 and d.month == 3]
    assert statistics.mean(weekdays) > statistics.mean(weekends)
    festival = [daily[date(2017, 1, 28) + timedelta(days=i)] for i in range(5)]
    assert statistics.mean(festival) < 0.8 * statistics.mean(weekends)
    assert all(p["output_10k_yuan"] > 0 for _, _, p in readings)
    assert day_factor("textile", date(2017, 3, 6)) == 1.0


def test_yearly_energy_stays_near_the_unit_cap(ref: Reference) -> None:
    sim = Simulator(only(ref, "energy"), SEED, SimConfig.without_faults())
    total: dict[str, float] = defaultdict(float)
    for _, unit, p in sim.readings_between(at(2017, 1, 1), at(2018, 1, 1)):
        total[unit] += tce(p)
    for unit, used in total.items():
        assert 0.7 < used / ref.sites("energy")[unit].annual_cap_tce < 1.1, unit


def test_each_feed_is_simulated_by_the_physics_named_after_it(ref: Reference) -> None:
    assert all(physics(feed) for feed in FEEDS)
    assert physics("noise") is None  # a feed without physics is not simulated
    sim = Simulator(ref, SEED)
    assert set(sim.physics) == set(FEEDS)
    assert sim.physics["wastewater"].__name__ == "streams.simulate_wastewater"


@pytest.fixture(scope="module")
def effluent(ref: Reference) -> dict[str, list[tuple[str, str, dict]]]:
    """Every plant's hourly effluent in January and July, perfect instruments, and the first
    sample of the day after each (which closes the month's last day)."""
    sim = Simulator(only(ref, "wastewater"), SEED, SimConfig.without_faults())
    return {
        "jan": sim.readings_between(at(2017, 1, 1, 1), at(2017, 2, 1, 2)),
        "jul": sim.readings_between(at(2017, 7, 1, 1), at(2017, 8, 1, 2)),
    }


def test_effluent_is_colder_in_winter_and_holds_more_ammonia(
    ref: Reference, effluent: dict[str, list[tuple[str, str, dict]]]
) -> None:
    jan, jul = ([p for _, _, p in effluent[m]] for m in ("jan", "jul"))
    assert statistics.mean(p["temp"] for p in jan) < statistics.mean(p["temp"] for p in jul) - 10
    cold = {p["ts"][:10] for p in jan if p["temp"] <= 12}  # NH3-N's cold-water limit applies
    assert len(cold) >= 3
    assert statistics.mean(p["nh3n"] for p in jan) > 1.2 * statistics.mean(p["nh3n"] for p in jul)
    for site, payloads in by_site(effluent["jan"]).items():
        plant = ref.sites("wastewater")[site]
        flow = statistics.mean(p["flow"] for p in payloads)
        assert 0.6 < flow * 24 / plant.capacity_m3_d < 1.0, site


def test_plants_mostly_meet_1a_and_some_days_go_over(
    ref: Reference, effluent: dict[str, list[tuple[str, str, dict]]]
) -> None:
    """Judged as the worker judges them: daily grades of every plant over both months."""
    plants = ref.sites("wastewater")
    grades: dict[str, list[float]] = defaultdict(list)
    context = Context(Timing(3600, 3600), 0.0)
    for month in effluent.values():
        states: dict[str, wastewater.WastewaterState] = {}
        for _, site, payload in month:
            reading = msgspec.convert(payload, WastewaterReading)
            state = states.get(site) or wastewater.WastewaterState()
            states[site], out = wastewater.judge(state, plants[site], [reading], context)
            if "grade" in out.figures:
                grades[plants[site].required_grade].append(out.figures["grade"])
    strict = grades["1A"]
    assert len(strict) == 7 * 62  # every day of every 1A plant closed and judged
    assert strict.count(1) / len(strict) > 0.9
    assert any(g > 1 for g in strict)  # some days over 1A
    assert statistics.mean(grades["1B"]) < 2.2  # the 1B plants mostly meet 1B


# Faults


@pytest.fixture(scope="module")
def clean_air(ref: Reference) -> list[tuple[str, str, dict]]:
    sim = Simulator(only(ref, "air"), SEED, SimConfig.without_faults())
    return sim.readings_between(at(2017, 4, 1), at(2017, 4, 21))


def _faulty(ref: Reference, **rates: float) -> list[tuple[str, str, dict]]:
    faults = FaultRates(
        **{"silence_per_day": 0.0, "flatline_per_day": 0.0, "spike_rate": 0.0} | rates
    )
    sim = Simulator(only(ref, "air"), SEED, SimConfig(faults=faults))
    return sim.readings_between(at(2017, 4, 1), at(2017, 4, 21))


def test_silence_removes_readings_at_the_configured_rate(
    ref: Reference, clean_air: list[tuple[str, str, dict]]
) -> None:
    faulty = _faulty(ref, silence_per_day=0.5)  # outages of 2-12 h, 7 h on average
    missing = 1 - len(faulty) / len(clean_air)
    assert 0.5 * 7 / 24 * 0.7 < missing < 0.5 * 7 / 24 * 1.3
    assert {p["ts"] for _, _, p in faulty} <= {p["ts"] for _, _, p in clean_air}


def test_flatlines_repeat_one_value_at_the_configured_rate(
    ref: Reference, clean_air: list[tuple[str, str, dict]]
) -> None:
    faulty = _faulty(ref, flatline_per_day=0.2)  # 4-24 h, the first hour still true
    changed = sum(a != b for a, b in zip(clean_air, faulty, strict=True))
    assert 0.2 * 13 / 24 * 0.7 < changed / len(clean_air) < 0.2 * 13 / 24 * 1.3
    longest = 0
    for payloads in by_site(faulty).values():
        for field in ("pm25", "pm10", "so2", "no2", "o3", "co"):
            run = 1
            for prev, cur in itertools.pairwise(payloads):
                run = run + 1 if cur[field] == prev[field] else 1
                longest = max(longest, run)
    assert longest >= 4


def test_spikes_appear_at_the_configured_rate(
    ref: Reference, clean_air: list[tuple[str, str, dict]]
) -> None:
    faulty = _faulty(ref, spike_rate=0.05)
    spiked = 0
    for (_, _, clean), (_, _, bad) in zip(clean_air, faulty, strict=True):
        ratios = [
            bad[k] / max(clean[k], 1e-9) for k in clean if k not in ("station_id", "ts", "period")
        ]
        spiked += max(ratios) >= 4.5
    assert 0.05 * 0.7 < spiked / len(clean_air) < 0.05 * 1.3
