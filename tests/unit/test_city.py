"""Daily closing of a station's hours; the city targets' summaries, reads and alerts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from alerts.assessment.scope import CITY
from alerts.assessment.year import Register, Year, assess
from alerts.city import CityState, Reads, apply, judge
from alerts.feeds import air
from alerts.feeds.air import AirState
from alerts.judge import Context, Timing, firing
from alerts.standards.editions import CST
from alerts.summaries import AirDay, Revised, SectionClass
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


NOBODY = Register(sections={}, unit_county={}, gdp={}, plants={})


def fill_year(year: Year, days: int, bad_every: int) -> None:
    for i in range(days):
        pm = 120.0 if i % bad_every == 0 else 30.0
        year.add_air_day(date(year.year, 1, 1) + timedelta(days=i), "s1", {"pm25_24h": pm})


def test_summaries_fill_the_realtime_year_and_progress_counts_them():
    year = Year(2025)
    reads = apply(year, [AirDay(site="s1", day=f"2025-01-{d:02d}", means={"pm25_24h": 30.0})
                         for d in range(1, 11)])  # fmt: skip
    assert not reads and len(year.air) == 10
    fill_year(year, 100, bad_every=5)  # 20 bad days out of 100, through 10 April
    figures = assess(year, NOBODY, TARGETS, budget_warning=10).figures
    assert figures[("aqi_good_day_ratio", CITY)].value == pytest.approx(0.80)
    assert figures[("aqi_good_day_ratio", CITY)].goal == pytest.approx(0.85)
    # 80 good of 100; 265 days left: (80 + 265 - b) / 365 >= 0.85 -> b <= 34.75 -> 34.
    assert figures[("bad_day_budget", CITY)].value == 34
    assert figures[("aqi_good_day_ratio", CITY)].status == "at_risk"


def test_budget_nearly_spent_fires_the_budget_alert():
    year = Year(2025)
    fill_year(year, 300, bad_every=4)  # 75 bad days of 300
    assessed = assess(year, NOBODY, TARGETS, budget_warning=10)
    assert assessed.figures[("bad_day_budget", CITY)].value == 0
    assert assessed.figures[("aqi_good_day_ratio", CITY)].status == "missed"
    state = CityState()
    out = judge(state, assessed)
    assert [(e.condition, e.transition) for e in out.events] == [
        ("target_bad_day_budget", "firing")
    ]
    assert [f.condition for f in firing(state)] == ["target_bad_day_budget"]


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        (AirDay(site="s1", day="2025-03-01", means={"pm25_24h": 1.0}), Reads()),
        (AirDay(site="s1", day="2024-12-31", means={"pm25_24h": 1.0}), Reads()),  # too old
        (AirDay(site="s1", day="2026-01-01", means={"pm25_24h": 1.0}), Reads(year=True)),
        (Revised(feed="air", site="s1", days=["2025-02-01", "2024-12-31"]),
         Reads(air={"s1": {"2025-02-01"}})),
        (Revised(feed="water", site="w1", days=["2025-02-01"]), Reads(feeds={"water"})),
        (SectionClass(site="w1", level="national", water_class=5), Reads()),  # a live figure
    ],
)  # fmt: skip
def test_what_a_summary_asks_of_storage(summary, expected):
    assert apply(Year(2025), [summary]) == expected


def test_before_the_first_read_everything_is_read():
    assert apply(None, [AirDay(site="s1", day="2025-03-01", means={})]) == Reads(year=True)


def test_a_read_station_day_replaces_the_summary_and_the_figures_follow():
    year = Year(2025)
    fill_year(year, 10, bad_every=100)  # one bad day (1 January) of 10
    before = assess(year, NOBODY, TARGETS, budget_warning=10).figures
    assert before[("aqi_good_day_ratio", CITY)].value == pytest.approx(0.9)
    # An audited 1 January: PM2.5 mean 40 (good), as storage now holds it.
    year.replace_air("s1", {"2025-01-01"}, {"2025-01-01": {"s1": {"pm25_24h": 40.0}}})
    after = assess(year, NOBODY, TARGETS, budget_warning=10).figures
    assert after[("aqi_good_day_ratio", CITY)].value == 1.0
    assert after[("bad_day_budget", CITY)].value > before[("bad_day_budget", CITY)].value
    year.replace_air("s1", {"2025-01-02"}, {})  # a day whose values were all invalidated
    assert "2025-01-02" not in year.air


def sections_of(classes: dict[str, tuple[str, str]]) -> tuple[Year, Register]:
    """Sections (id -> (control level, a river sample's NH3-N)) with one sample each."""
    year = Year(2025, air={})
    registered = {}
    for site, (level, nh3n) in classes.items():
        year.sections[site] = {3: {"nh3n": (Decimal(nh3n), 1), "do": (Decimal("7.6"), 1)}}
        registered[site] = Section(level)
    return year, Register(sections=registered, unit_county={}, gdp={}, plants={})


class Section:
    waterbody = "river"

    def __init__(self, level: str) -> None:
        self.control_level = level


def test_the_class3_share_alert_fires_and_resolves_with_the_period_classes():
    # NH3-N 1.2 is Class IV, 0.4 Class II: all five sections worse than III, then none.
    year, register = sections_of({f"w{i}": ("national", "1.2") for i in range(5)})
    state = CityState()
    out = judge(state, assess(year, register, TARGETS, budget_warning=10))
    assert ("target_class3_share", "overall", "firing") in {
        (e.condition, e.parameter, e.transition) for e in out.events
    }
    year, register = sections_of({f"w{i}": ("national", "0.4") for i in range(5)})
    out = judge(state, assess(year, register, TARGETS, budget_warning=10))
    assert ("target_class3_share", "overall", "resolved") in {
        (e.condition, e.parameter, e.transition) for e in out.events
    }
    assert firing(state) == []


def test_section_shares_by_level():
    levels = [("county_boundary", "0.4")] * 9 + [("county_boundary", "1.2")]
    levels += [("provincial", "0.8")] * 3 + [("provincial", "1.8")]
    year, register = sections_of({f"s{i}": lv for i, lv in enumerate(levels)})
    assessed = assess(year, register, TARGETS, budget_warning=10)
    figures = assessed.figures
    assert figures[("county_boundary_class3_ratio", CITY)].value == pytest.approx(0.90)
    assert figures[("county_boundary_class3_ratio", CITY)].status == "met"
    assert figures[("provincial_section_class3_ratio", CITY)].value == pytest.approx(0.75)
    assert figures[("water_class3_ratio", CITY)].value == pytest.approx(12 / 14)
    assert figures[("class5_sections", CITY)].value == 1  # NH3-N 1.8: Class V
    assert figures[("class5_sections", CITY)].status == "at_risk"
    assert not [c for c in assessed.checks if c.observation.breach]
