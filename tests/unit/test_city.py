"""Daily closing of a station's hours, and city-wide progress against the plan targets."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from alerts.city import (
    CityState,
    add_air_day,
    add_section_class,
    city_aqi,
    daily_aqis,
    judge,
    progress,
)
from alerts.feeds import air
from alerts.feeds.air import AirState
from alerts.judge import Context, Timing, firing
from alerts.standards.editions import CST
from alerts.summaries import AirDay, PlantGrade, SectionClass
from alerts.targets import load_targets
from schemas.feeds.air import AirReading, Station

TARGETS = load_targets()
STATION = Station("s1", "测试站", "yiwu", 29.3, 120.1, 2, 3600, True)
CONTEXT = Context(Timing(3600, 3600), 0.0)


def day_of(hours: list[tuple[datetime, dict[str, float]]]) -> list[AirDay]:
    """The daily summaries a station's hourly readings close."""
    state, summaries = AirState(), []
    for at, values in hours:
        _, out = air.judge(state, STATION, [AirReading(station_id="s1", ts=at, **values)], CONTEXT)
        summaries += out.summaries
    return summaries


def test_hour_ending_at_midnight_belongs_to_the_day_before():
    # 20 hours ending 05:00 .. 24:00 of June 1: valid only if the hour ending at midnight counts.
    start = datetime(2025, 6, 1, 5, 0, tzinfo=CST)
    hours = [(start + timedelta(hours=h), {"pm25": 40.0}) for h in range(20)]
    (closed,) = day_of([*hours, (datetime(2025, 6, 2, 1, 0, tzinfo=CST), {"pm25": 1.0})])
    assert (closed.day, closed.means) == ("2025-06-01", {"pm25_24h": 40.0})
    assert day_of([*hours, (datetime(2025, 6, 2, 0, 30, tzinfo=CST), {"pm25": 1.0})]) == []


def test_day_closes_with_valid_means_only():
    start = datetime(2025, 6, 1, 1, 0, tzinfo=CST)
    hours = []
    for h in range(24):
        values = {"pm25": 40.0, "o3": 100.0 + h}
        if h < 19:
            values["no2"] = 30.0  # 19 valid hours of NO2: its mean is not valid
        hours.append((start + timedelta(hours=h), values))
    assert day_of(hours) == []
    (closed,) = day_of([*hours, (start + timedelta(hours=24), {"pm25": 10.0})])
    assert closed.day == "2025-06-01"
    means = closed.means
    assert means["pm25_24h"] == pytest.approx(40.0)
    assert "no2_24h" not in means
    assert means["o3_1h"] == 123.0
    assert means["o3_8h"] == pytest.approx(sum(range(116, 124)) / 8)  # the last window


def test_an_hour_of_a_closed_day_is_not_counted_again():
    start = datetime(2025, 6, 1, 1, 0, tzinfo=CST)
    hours = [(start + timedelta(hours=h), {"pm25": 40.0}) for h in range(24)]
    late = (datetime(2025, 6, 1, 5, 0, tzinfo=CST), {"pm25": 999.0})
    (closed,) = day_of([*hours, (start + timedelta(hours=25), {"pm25": 1.0}), late])
    assert closed.means == {"pm25_24h": 40.0}


def test_city_aqi_is_the_aqi_of_the_mean_concentrations():
    # PM2.5 means 60 and 90 -> 75 -> IAQI 100 exactly by HJ 633-2012; 114 by the 2026 edition.
    stations = {"a": {"pm25_24h": 60.0}, "b": {"pm25_24h": 90.0}}
    assert city_aqi(stations, date(2025, 6, 1)) == 100
    assert city_aqi(stations, date(2026, 6, 1)) == 114
    assert city_aqi({"a": {"no2_24h": 30.0}}, date(2025, 6, 1)) is None  # no PM2.5


def fill_year(state: CityState, year: int, days: int, bad_every: int) -> None:
    for i in range(days):
        pm = 120.0 if i % bad_every == 0 else 30.0
        add_air_day(state, date(year, 1, 1) + timedelta(days=i), "s1", {"pm25_24h": pm})


def test_days_close_two_days_later_and_progress_counts_them():
    state = CityState()
    fill_year(state, 2025, 100, bad_every=5)  # 20 bad days out of 100
    assert len(state.open_days) == 2 and len(state.closed_aqi) == 98
    figures, checks = progress(state, date(2025, 4, 10), TARGETS, budget_warning=10)
    assert figures["aqi_good_day_ratio"].value == pytest.approx(0.80)
    assert figures["aqi_good_day_ratio"].goal == pytest.approx(0.85)
    # 80 good of 100; 265 days left: (80 + 265 - b) / 365 >= 0.85 -> b <= 34.75 -> 34.
    assert figures["bad_day_budget"].value == 34
    assert figures["aqi_good_day_ratio"].status == "at_risk"
    (budget,) = [c for c in checks if c.condition == "target_bad_day_budget"]
    assert not budget.observation.breach


def test_budget_nearly_spent_breaches():
    state = CityState()
    fill_year(state, 2025, 300, bad_every=4)  # 75 bad days of 300
    figures, checks = progress(state, date(2025, 10, 27), TARGETS, budget_warning=10)
    assert figures["bad_day_budget"].value == 0
    assert figures["aqi_good_day_ratio"].status == "missed"
    assert [c.observation.breach for c in checks if c.condition == "target_bad_day_budget"] == [
        True
    ]


def test_a_new_year_starts_afresh_and_an_old_one_is_ignored():
    state = CityState()
    fill_year(state, 2025, 10, bad_every=2)
    add_air_day(state, date(2026, 1, 1), "s1", {"pm25_24h": 20.0})
    assert list(daily_aqis(state)) == ["2026-01-01"]
    add_air_day(state, date(2025, 12, 31), "s1", {"pm25_24h": 500.0})
    assert list(daily_aqis(state)) == ["2026-01-01"]


def test_section_shares_by_level():
    state = CityState()
    for i, (level, cls) in enumerate(
        [("county_boundary", 2)] * 9
        + [("county_boundary", 4)]
        + [("provincial", 3)] * 3
        + [("provincial", 5)]
    ):
        add_section_class(state, f"s{i}", level, cls)
    figures, checks = progress(state, date(2025, 6, 1), TARGETS, budget_warning=10)
    assert figures["county_boundary_class3_ratio"].value == pytest.approx(0.90)
    assert figures["county_boundary_class3_ratio"].status == "met"
    assert figures["provincial_section_class3_ratio"].value == pytest.approx(0.75)
    assert figures["water_class3_ratio"].value == pytest.approx(12 / 14)
    assert figures["class5_sections"].value == 1
    assert figures["class5_sections"].status == "at_risk"
    breached = {c.parameter for c in checks if c.observation.breach}
    assert breached == set()
    add_section_class(state, "s0", "county_boundary", 4)  # 80% now, below 90%
    _, checks = progress(state, date(2025, 6, 1), TARGETS, budget_warning=10)
    boundary = next(c for c in checks if c.parameter == "county_boundary")
    assert (boundary.observation.value, boundary.observation.limit) == pytest.approx((80, 90))
    # 80% of boundary sections (target 90%) and 11 of 14 overall (78.6%, target > 80%).
    assert {c.parameter for c in checks if c.observation.breach} == {"county_boundary", "overall"}


def section(site: str, water_class: int, level: str = "national") -> SectionClass:
    return SectionClass(site=site, level=level, water_class=water_class)


def test_summary_batches_accumulate_in_the_city_state():
    state, _, _ = judge(CityState(), [section("w1", 2)], TARGETS, 10)
    state, figures, _ = judge(state, [section("w2", 3)], TARGETS, 10)
    assert state.sections == {"w1": ("national", 2), "w2": ("national", 3)}
    assert figures["water_class3_ratio"].value == 1.0


def test_the_class3_share_alert_fires_and_resolves_with_the_sections():
    # All five sections worse than Class III: the Class III share is missed.
    state, _, out = judge(CityState(), [section(f"w{i}", 4) for i in range(5)], TARGETS, 10)
    assert ("target_class3_share", "overall", "firing") in {
        (e.condition, e.parameter, e.transition) for e in out.events
    }
    assert {(f.condition, f.parameter) for f in firing(state)} >= {
        ("target_class3_share", "overall")
    }
    state, _, out = judge(state, [section(f"w{i}", 2) for i in range(5)], TARGETS, 10)
    assert ("target_class3_share", "overall", "resolved") in {
        (e.condition, e.parameter, e.transition) for e in out.events
    }
    assert firing(state) == []


def test_the_share_of_plants_meeting_grade_1a_follows_each_plants_last_day():
    grades = [PlantGrade(site="p1", grade=1), PlantGrade(site="p2", grade=2)]
    state, figures, _ = judge(CityState(), grades, TARGETS, 10)
    share = figures["plants_grade_1a_ratio"]
    assert (share.value, share.goal, share.status) == (0.5, 1.0, "at_risk")
    state, figures, _ = judge(state, [PlantGrade(site="p2", grade=1)], TARGETS, 10)
    assert state.plants == {"p1": 1, "p2": 1}
    assert figures["plants_grade_1a_ratio"].status == "met"
    _, figures, _ = judge(CityState(), [section("w1", 2)], TARGETS, 10)
    assert "plants_grade_1a_ratio" not in figures  # no plant heard from
