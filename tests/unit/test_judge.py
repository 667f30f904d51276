"""Readings judged with their site's state: figures, transitions and firing alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.feeds import air as air_feed
from alerts.feeds import energy as energy_feed
from alerts.feeds import water as water_feed
from alerts.judge import AlertEvent, Context, Firing, Timing, firing
from schemas.feeds.air import AirReading, Station
from schemas.feeds.energy import EnergyReading, EnergyUnit
from schemas.feeds.water import Section, WaterReading

T0 = datetime(2025, 12, 1, tzinfo=UTC)
HOURLY = Timing(for_s=3600, clear_s=3600)
STATION = Station("air-x", "测试站", "yiwu", 29.3, 120.1, 2, 3600, True)
SECTION = Section(
    "wq-x",
    "测试断面",
    "义乌江",
    "yiwu",
    29.3,
    120.1,
    "river",
    "provincial",
    3,
    None,
    None,
    False,
    14400,
    True,
)
SOURCE = Section(
    "wq-src",
    "测试水源",
    "横锦水库",
    "dongyang",
    29.1,
    120.4,
    "lake",
    "provincial",
    2,
    None,
    None,
    True,
    14400,
    True,
)
UNIT = EnergyUnit("eu-x", "测试企业", "lanxi", 29.2, 119.5, "cement", 2.8, 200000, 86400, True)


@dataclass
class Verdict:
    """One reading's outcome, as a batch of one gives it."""

    figures: dict[str, float]
    events: list[AlertEvent]
    firing: list[Firing]
    edition: str
    judged: bool


def _judging(module: Any) -> Any:
    def judge(state: Any, reading: Any, site: Any, timing: Timing) -> Verdict:
        state, out = module.judge(state, site, [reading], Context(timing, 0.0))
        return Verdict(out.figures, out.events, firing(state), out.edition, out.judged == 1)

    return judge


judge_air = _judging(air_feed)
judge_water = _judging(water_feed)
judge_energy = _judging(energy_feed)


def air(hour: int, **conc: float) -> AirReading:
    return AirReading(station_id="air-x", ts=T0 + timedelta(hours=hour), **conc)


def feed_air(values: list[dict], state: air_feed.AirState | None = None, start: int = 0):
    state = state or air_feed.AirState()
    verdicts = [
        judge_air(state, air(start + h, **v), STATION, HOURLY) for h, v in enumerate(values)
    ]
    return state, verdicts


def transitions(verdicts, condition):
    return [(e.transition, e.at) for v in verdicts for e in v.events if e.condition == condition]


def test_polluted_hours_fire_light_pollution_once_and_resolve_once():
    # PM2.5 1h 120 -> IAQI 150 + 50/35 x 5 = 157.1, rounded up to 158; 40 -> 58 (clear).
    pattern = [{"pm25": 120.0}] * 4 + [{"pm25": 40.0}] * 3
    _, verdicts = feed_air(pattern)
    assert verdicts[0].figures["aqi"] == 158
    assert transitions(verdicts, "air_aqi_light") == [
        ("firing", T0 + timedelta(hours=1)),
        ("resolved", T0 + timedelta(hours=5)),
    ]
    assert transitions(verdicts, "air_aqi_heavy") == []
    assert [bool(v.firing) for v in verdicts] == [False, True, True, True, True, False, False]
    assert verdicts[1].firing[0].value == 158 and verdicts[1].firing[0].limit == 100
    assert verdicts[1].edition == "hj633-2012"


def test_heavy_pollution_is_critical():
    _, verdicts = feed_air([{"pm25": 200.0}] * 2)  # IAQI 250
    (event,) = [e for e in verdicts[1].events if e.condition == "air_aqi_heavy"]
    assert event.severity == "critical" and event.value == 250


def test_pm25_24h_mean_needs_twenty_valid_hours():
    state, verdicts = feed_air([{"pm25": 80.0, "pm10": 400.0}] * 19)  # pm10 varied below
    assert "pm25_24h" not in verdicts[-1].figures
    _, more = feed_air([{"pm25": 80.0}], state, start=19)
    assert more[0].figures["pm25_24h"] == pytest.approx(80.0)


def test_pm25_24h_above_limit_fires_after_sustain():
    # Hour 19 brings the 20th valid hour: the mean (80 > 75) begins; it fires an hour later.
    state, first = feed_air([{"pm25": 80.0, "no2": 30.0 + h} for h in range(19)])
    assert transitions(first, "air_pm25_24h") == []
    _, verdicts = feed_air([{"pm25": 80.0, "no2": 60.0 + h} for h in range(2)], state, start=19)
    fired = transitions(verdicts, "air_pm25_24h")
    assert fired == [("firing", T0 + timedelta(hours=20))]
    (alert,) = [f for f in verdicts[1].firing if f.condition == "air_pm25_24h"]
    assert alert.limit == 75.0  # GB 3095-2012 grade II


def test_2026_edition_limit_applies_from_march_2026():
    start = datetime(2026, 3, 2, tzinfo=UTC)
    state = air_feed.AirState()
    verdicts = [
        judge_air(
            state,
            AirReading(station_id="air-x", ts=start + timedelta(hours=h), pm25=70.0, no2=20.0 + h),
            STATION,
            HOURLY,
        )
        for h in range(22)
    ]
    alert = next(f for f in verdicts[-1].firing if f.condition == "air_pm25_24h")
    assert alert.limit == 60.0 and verdicts[-1].edition == "hj633-2026"


def test_late_reading_is_not_judged():
    state, _ = feed_air([{"pm25": 120.0}] * 3)
    late = judge_air(state, air(0, pm25=10.0), STATION, HOURLY)
    assert not late.judged and late.events == []
    assert state.alerts["air_aqi_light|aqi"].status == "firing"


def test_flatline_and_spike():
    _, verdicts = feed_air([{"pm25": 33.0}] * 6)
    assert transitions(verdicts, "dq_flatline") == [("firing", T0 + timedelta(hours=5))]
    _, verdicts = feed_air(
        [{"pm25": 20.0 + h} for h in range(6)] + [{"pm25": 400.0}, {"pm25": 25.0}]
    )
    assert [e.transition for v in verdicts for e in v.events if e.condition == "dq_spike"] == [
        "firing",
        "resolved",
    ]


def water(hour: int, **values: float) -> WaterReading:
    return WaterReading(section_id="wq-x", ts=T0 + timedelta(hours=hour), **values)


def test_water_worse_than_target_and_class_v():
    state = water_feed.WaterState()
    good = judge_water(state, water(0, do=7.0, nh3n=0.4, tp=0.1), SECTION, HOURLY)
    assert good.figures["class"] == 2 and good.events == []
    bad = judge_water(state, water(4, do=7.0, nh3n=1.8, tp=0.1), SECTION, HOURLY)
    assert bad.figures["class"] == 5
    assert {(e.condition, e.parameter, e.severity) for e in bad.events} == {
        ("water_above_target", "nh3n", "warning"),
        ("water_class_v", "nh3n", "critical"),
    }
    back = judge_water(state, water(8, do=7.0, nh3n=0.9, tp=0.1), SECTION, HOURLY)
    assert {(e.condition, e.transition) for e in back.events} == {
        ("water_above_target", "resolved"),
        ("water_class_v", "resolved"),
    }


def test_a_class_alert_resolves_when_another_parameter_controls_the_clean_sample():
    state = water_feed.WaterState()
    judge_water(state, water(0, do=7.0, nh3n=1.8, tp=0.1), SECTION, HOURLY)  # V by NH3-N
    back = judge_water(state, water(4, do=7.0, nh3n=0.2, tp=0.15), SECTION, HOURLY)  # III by TP
    assert back.figures["class"] == 3
    assert {(e.condition, e.parameter, e.transition) for e in back.events} == {
        ("water_above_target", "nh3n", "resolved"),
        ("water_class_v", "nh3n", "resolved"),
    }
    assert state.alerts == {}
    again = judge_water(state, water(8, do=7.0, nh3n=1.8, tp=0.1), SECTION, HOURLY)
    assert {(e.condition, e.transition) for e in again.events} == {
        ("water_above_target", "firing"),
        ("water_class_v", "firing"),
    }


def test_a_class_alert_stays_one_alert_when_the_controlling_parameter_changes():
    state = water_feed.WaterState()
    judge_water(state, water(0, do=7.0, nh3n=1.8, tp=0.1), SECTION, HOURLY)  # V by NH3-N
    still = judge_water(state, water(4, do=7.0, nh3n=0.4, tp=0.35), SECTION, HOURLY)  # V by TP
    assert still.figures["class"] == 5
    assert still.events == []
    assert {(f.condition, f.parameter) for f in still.firing} == {
        ("water_above_target", "nh3n"),
        ("water_class_v", "nh3n"),
    }


def test_drinking_source_judged_against_its_own_target():
    sample = WaterReading(section_id="wq-src", ts=T0, do=7.0, nh3n=0.8, tp=0.02)  # class III
    verdict = judge_water(water_feed.WaterState(), sample, SOURCE, HOURLY)
    assert {e.condition for e in verdict.events} == {"water_above_target", "water_drinking_source"}


def test_energy_intensity_above_quota_and_year_to_date():
    state = energy_feed.EnergyState()
    day = EnergyReading(
        unit_id="eu-x",
        period_start=T0,
        period_end=T0 + timedelta(days=1),
        electricity_kwh=100_000.0,
        raw_coal_t=30.0,
        output_10k_yuan=10.0,
    )
    verdict = judge_energy(state, day, UNIT, HOURLY)
    # 100,000 kWh x 0.1229 kgce = 12.29 tce; 30 t x 0.7143 = 21.429 tce.
    assert verdict.figures["tce"] == pytest.approx(33.719)
    assert verdict.figures["intensity"] == pytest.approx(3.3719)
    assert [e.condition for e in verdict.events] == ["energy_unit_intensity"]
    nxt = EnergyReading(
        unit_id="eu-x",
        period_start=T0 + timedelta(days=1),
        period_end=T0 + timedelta(days=2),
        electricity_kwh=100_000.0,
        output_10k_yuan=10.0,
    )
    verdict = judge_energy(state, nxt, UNIT, HOURLY)
    assert verdict.figures["ytd_tce"] == pytest.approx(33.719 + 12.29)
    assert [e.transition for e in verdict.events] == ["resolved"]


def test_value_above_the_aqi_table_is_an_out_of_range_notice():
    _, verdicts = feed_air([{"pm25": 620.0}, {"pm25": 50.0}])
    (fired,) = [e for e in verdicts[0].events if e.condition == "dq_out_of_range"]
    assert (fired.parameter, fired.severity, fired.value, fired.limit) == (
        "pm25_1h",
        "info",
        620.0,
        500.0,
    )
    assert verdicts[0].figures["aqi"] == 500
    assert [e.transition for e in verdicts[1].events if e.condition == "dq_out_of_range"] == [
        "resolved"
    ]
