"""Assessment over whole periods: section classes by the 2011 method, air means with their
validity rules, station-days from stored hours, and the targets assessed from a year."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from alerts.assessment.air import city_aqi, period_means, periods, pooled, station_days
from alerts.assessment.energy import EnergyYear, Metered, energy_year, intensities, year_share
from alerts.assessment.scope import CITY
from alerts.assessment.wastewater import plant_grades
from alerts.assessment.water import added, period_classes, year_classes
from alerts.assessment.year import Register, Year, assess
from alerts.feeds.energy import CARRIERS
from alerts.standards.editions import CST
from alerts.standards.water_class import period_class
from alerts.targets import load_targets

TARGETS = load_targets()


def sums(*samples: dict[str, str]) -> dict[str, tuple[Decimal, int]]:
    """What storage hands over for a month: each item's sum of valid values and count."""
    out: dict[str, tuple[Decimal, int]] = {}
    for sample in samples:
        for item, value in sample.items():
            s, n = out.get(item, (Decimal(0), 0))
            out[item] = (s + Decimal(value), n + 1)
    return out


class Section:
    def __init__(self, waterbody: str, control_level: str = "national") -> None:
        self.waterbody, self.control_level = waterbody, control_level


# --- Section classes over a period (环办〔2011〕22号: the mean of each indicator) ---------------

# Three sections' March samples, their means worked by hand, and the class the method gives.
# Taking the worst sample, or the latest, would give another class for each of them.
SECTIONS = {
    # River. TP 0.18, 0.22, 0.17, 0.23: mean 0.80 / 4 = 0.20 exactly, Class III (<= 0.2; a
    # binary float mean is 0.20000000000000004). DO (7.6 + 6.8 + 7.0 + 6.6) / 4 = 7.0: II.
    # NH3-N (0.3 + 0.5 + 0.4 + 0.6) / 4 = 0.45: II. TN 3.0 (worse than V) is not evaluated
    # for rivers. Worst and latest sample: TP 0.23, Class IV.
    "wq-a": (
        "river",
        [
            {"tp": "0.18", "do": "7.6", "nh3n": "0.3", "tn": "3.0"},
            {"tp": "0.22", "do": "6.8", "nh3n": "0.5"},
            {"tp": "0.17", "do": "7.0", "nh3n": "0.4"},
            {"tp": "0.23", "do": "6.6", "nh3n": "0.6"},
        ],
        3,
        ("tp",),
    ),
    # Reservoir. TN (0.9 + 1.2) / 2 = 1.05: IV (> 1.0, <= 1.5; TN counts for lakes).
    # TP (0.04 + 0.05) / 2 = 0.045: III on the lake limits (<= 0.05). CODMn (3 + 5) / 2 = 4:
    # II (<= 4). Worst sample: TN 1.2, IV too, but the latest, CODMn 5, is III by itself.
    "wq-b": (
        "lake",
        [
            {"tn": "0.9", "tp": "0.04", "codmn": "3"},
            {"tn": "1.2", "tp": "0.05", "codmn": "5"},
        ],
        4,
        ("tn",),
    ),
    # River. NH3-N (1.8 + 2.4 + 1.5) / 3 = 1.9: V (> 1.5, <= 2.0). DO (2.5 + 3.5 + 4.0) / 3
    # = 3.33: IV (>= 3, < 5). Worst sample: NH3-N 2.4, worse than V; latest: NH3-N 1.5, IV.
    "wq-c": (
        "river",
        [
            {"nh3n": "1.8", "do": "2.5"},
            {"nh3n": "2.4", "do": "3.5"},
            {"nh3n": "1.5", "do": "4.0"},
        ],
        5,
        ("nh3n",),
    ),
}


@pytest.mark.parametrize("site", sorted(SECTIONS))
def test_a_month_is_classed_by_the_mean_of_each_indicator(site):
    waterbody, samples, expected, controlling = SECTIONS[site]
    months = {site: {3: sums(*samples)}}
    found = period_classes(months, {site: Section(waterbody)}, 2025)
    month = next(c for c in found if c.period == "month")
    assert (month.starts, month.water_class, month.controlling) == (
        date(2025, 3, 1),
        expected,
        controlling,
    )
    assert month.samples == len(samples)
    # The same as the standard's period_class over the samples themselves.
    exact = [{k: Decimal(v) for k, v in s.items()} for s in samples]
    assert period_class(exact, waterbody).water_class == expected


def test_the_shares_and_the_class5_count_are_of_the_period_classes():
    # The three sections above, their March samples the whole year so far: III, IV and V by
    # their means, so one in three at Class III or better and one Class V. By the latest
    # sample (IV, IV, IV) the share would be none and no section Class V; by the worst
    # (IV, IV, worse than V), none as well.
    year = Year(2025, sections={site: {3: sums(*spec[1])} for site, spec in SECTIONS.items()})
    register = Register({site: Section(spec[0]) for site, spec in SECTIONS.items()}, {}, {}, {})
    figures = assess(year, register, TARGETS, 10).figures
    assert figures[("water_class3_ratio", CITY)].value == pytest.approx(1 / 3)
    assert figures[("class5_sections", CITY)].value == 1


def test_the_year_is_classed_by_the_mean_over_all_its_samples():
    # March: TP 0.30 (one sample, IV); April: TP 0.10 and 0.14 (III). The year's mean is
    # (0.30 + 0.10 + 0.14) / 3 = 0.18: III, not the mean of the monthly means (0.21, IV).
    months = {"wq-d": {3: sums({"tp": "0.30"}), 4: sums({"tp": "0.10"}, {"tp": "0.14"})}}
    found = {(c.period, c.starts.month): c.water_class for c in period_classes(
        months, {"wq-d": Section("river")}, 2025)}  # fmt: skip
    assert found == {("month", 3): 4, ("month", 4): 3, ("year", 1): 3}


def test_unregistered_or_unclassable_sections_give_no_class():
    months = {"wq-x": {3: sums({"tp": "0.1"})}, "wq-t": {3: sums({"temp": "12.5"})}}
    register = {"wq-t": Section("river")}  # wq-x is not registered; wq-t has no indicator
    assert period_classes(months, register, 2025) == []


def test_year_classes_carry_the_control_level():
    months = {"wq-a": {3: sums({"tp": "0.1"})}}
    classes = period_classes(months, {"wq-a": Section("river", "provincial")}, 2025)
    assert [tuple(c) for c in year_classes(classes, {"wq-a": Section("river", "provincial")})] == [
        ("wq-a", "provincial", 2)
    ]


def test_added_sums():
    assert added([sums({"tp": "0.1"}), sums({"tp": "0.2", "do": "5"})]) == {
        "tp": (Decimal("0.3"), 2),
        "do": (Decimal("5"), 1),
    }


# --- Air: monthly and annual means with their validity rules --------------------------------


def days_of(year: int, month: int | None, valid: int, value: float = 30.0) -> dict:
    """``valid`` days of one station with a valid PM2.5 mean, from the 1st of ``month`` (or of
    the year)."""
    first = date(year, month or 1, 1)
    return {
        (first + timedelta(days=i)).isoformat(): {"s1": {"pm25_24h": value + i % 3}}
        for i in range(valid)
    }


@pytest.mark.parametrize(
    ("year", "month", "days", "valid"),
    [
        (2025, 1, 26, False),
        (2025, 1, 27, True),
        (2025, 4, 27, True),
        (2025, 2, 24, False),
        (2025, 2, 25, True),
        (2024, 2, 25, True),  # a leap February needs 25 too
        (2026, 2, 24, False),  # the 2012 edition, in force until 28 February 2026
        (2026, 3, 26, False),  # the 2026 edition from March: the same rules
        (2026, 3, 27, True),
    ],
)
def test_monthly_validity_at_its_edges(year, month, days, valid):
    (mean,) = [
        m
        for m in period_means(days_of(year, month, days), "month", date(year, month, 1))
        if m.pollutant == "pm25"
    ]
    required = 25 if month == 2 else 27
    assert (mean.days, mean.required, mean.valid) == (days, required, valid)
    assert mean.mean == pytest.approx(sum(30.0 + i % 3 for i in range(days)) / days)


@pytest.mark.parametrize(("days", "valid"), [(323, False), (324, True), (365, True)])
def test_annual_validity_at_its_edge(days, valid):
    (mean,) = [
        m
        for m in period_means(days_of(2025, None, days), "year", date(2025, 1, 1))
        if m.pollutant == "pm25"
    ]
    assert (mean.days, mean.required, mean.valid) == (days, 324, valid)


def test_means_are_of_the_pollutants_with_an_annual_limit_for_each_site_and_the_city():
    days = {"2025-01-01": {"s1": {"pm25_24h": 20.0, "no2_24h": 30.0, "o3_8h": 90.0, "co_24h": 1.0},
                           CITY: {"pm25_24h": 20.0}}}  # fmt: skip
    found = {(m.site, m.pollutant): m.mean for m in period_means(days, "month", date(2025, 1, 1))}
    assert set(found) == {(s, p) for s in ("s1", CITY) for p in ("pm25", "pm10", "so2", "no2")}
    assert found[("s1", "pm25")] == 20.0 and found[("s1", "pm10")] is None


def test_periods_run_to_the_newest_month_with_data():
    assert periods(["2025-03-09", "2025-01-02"], 2025) == [
        ("month", date(2025, 1, 1)),
        ("month", date(2025, 2, 1)),
        ("month", date(2025, 3, 1)),
        ("year", date(2025, 1, 1)),
    ]
    assert periods(["2024-12-31"], 2025) == []


# --- Air: station-days from stored hours ------------------------------------------------------


def hours(day: date, values: list[float | None], start_hour: int = 1) -> list:
    """A station's hourly PM2.5 values, the first ending at ``start_hour`` o'clock."""
    first = datetime(day.year, day.month, day.day, tzinfo=CST) + timedelta(hours=start_hour)
    return [
        ("s1", (first + timedelta(hours=h)).timestamp(), (v, None, None, None, None, None))
        for h, v in enumerate(values)
    ]


def test_a_stored_day_closes_as_a_station_closes_it():
    day = date(2025, 6, 1)
    days = station_days(hours(day, [40.0] * 24))  # 01:00 .. 24:00
    assert days == {"2025-06-01": {"s1": {"pm25_24h": 40.0}}}


def test_invalid_hours_count_as_missing():
    # 19 valid hours and 5 flagged (stored, read back as NULL): no valid 24-hour mean.
    assert station_days(hours(date(2025, 6, 1), [40.0] * 19 + [None] * 5)) == {}
    assert station_days(hours(date(2025, 6, 1), [40.0] * 20 + [None] * 4)) == {
        "2025-06-01": {"s1": {"pm25_24h": 40.0}}
    }


def test_the_hour_ending_at_midnight_is_the_day_before():
    # 20 hours ending 05:00 .. 24:00 of 1 June: valid only with the hour ending at midnight.
    days = station_days(hours(date(2025, 6, 1), [35.5] * 20, start_hour=5))
    assert list(days) == ["2025-06-01"]


def test_the_city_day_is_the_mean_of_its_stations():
    # PM2.5 means 60 and 90 -> 75 -> IAQI 100 exactly by HJ 633-2012; 114 by the 2026 edition.
    city = pooled({"a": {"pm25_24h": 60.0}, "b": {"pm25_24h": 90.0, "no2_24h": 30.0}})
    assert city == {"pm25_24h": 75.0, "no2_24h": 30.0}
    assert city_aqi(city, date(2025, 6, 1)) == 100
    assert city_aqi(city, date(2026, 6, 1)) == 114
    assert city_aqi({"no2_24h": 30.0}, date(2025, 6, 1)) is None


# --- Energy intensity ---------------------------------------------------------------------------


def metered(unit: str, ends: datetime, **amounts: float) -> Metered:
    return Metered(unit, ends, tuple(amounts.get(c) for c in CARRIERS))


def test_intensity_by_county_against_the_share_of_the_year_covered():
    ends = datetime(2025, 7, 2, 12, tzinfo=CST)  # 182.5 of 365 days: half the year
    year = energy_year(
        [
            # 1,000,000 kWh at 0.1229 kgce/kWh = 122.9 tce; 100 t raw coal x 0.7143 = 71.43 tce
            metered("u1", ends, electricity_kwh=1_000_000.0, raw_coal_t=100.0),
            metered("u2", ends - timedelta(days=1), raw_coal_t=100.0),
            metered("u3", ends, raw_coal_t=None),  # nothing valid: not counted
        ]
    )
    assert year.tce == pytest.approx({"u1": 194.33, "u2": 71.43})
    assert year_share(2025, ends) == pytest.approx(0.5)
    found = intensities(2025, year, {"u1": "a", "u2": "b"}, {"a": 1000.0, "b": 500.0, "c": 1.0})
    assert found == pytest.approx(
        {"a": 194.33 / 500, "b": 71.43 / 250, CITY: (194.33 + 71.43) / 750.5}
    )
    assert intensities(2025, EnergyYear(), {}, {}) == {}


def test_intensity_goal_is_the_path_or_not_set():
    ends = datetime(2025, 12, 31, 23, tzinfo=CST)
    energy = energy_year([metered("u1", ends, raw_coal_t=1000.0)])
    register = Register(sections={}, unit_county={"u1": "a"}, gdp={"a": 1700.0}, plants={})
    year = Year(2018, energy=energy)
    figure = assess(year, register, TARGETS, 10).figures[("energy_intensity", "a")]
    assert math.isnan(figure.goal) and figure.status is None
    configured = dataclasses.replace(TARGETS, intensity_reduction=Fraction(17, 100))
    year = Year(2018, energy=energy_year([metered("u1", datetime(2018, 12, 31, 23, tzinfo=CST),
                                                   raw_coal_t=1000.0)]))  # fmt: skip
    figure = assess(year, register, configured, 10).figures[("energy_intensity", "a")]
    # 714.3 tce / (1700 x 8759/8760 of the year) = 0.4202; the path for 2018 is
    # 0.525 x 0.83^(3/5) = 0.4695, so the county is on it.
    assert (figure.value, figure.goal, figure.status) == (0.4202, 0.4695, "met")


# --- PM2.5 reduction --------------------------------------------------------------------------


def test_pm25_reduction_says_baseline_not_set():
    year = Year(2025, air=days_of(2025, 1, 10))
    figure = assess(year, Register({}, {}, {}, {}), TARGETS, 10).figures[("pm25_reduction", CITY)]
    assert math.isnan(figure.value) and figure.goal == 0.4 and figure.status is None


def test_pm25_reduction_against_the_baseline():
    targets = dataclasses.replace(TARGETS, pm25_baseline=Fraction(50))
    year = Year(2025, air={"2025-01-01": {"a": {"pm25_24h": 20.0}, "b": {"pm25_24h": 40.0}},
                           "2025-01-02": {"a": {"pm25_24h": 30.0}}})  # fmt: skip
    figure = assess(year, Register({}, {}, {}, {}), targets, 10).figures[("pm25_reduction", CITY)]
    # City days 30 and 30: 40% below 50, the goal of 40% met.
    assert (figure.value, figure.goal, figure.status) == pytest.approx((0.4, 0.4, "met"))


# --- Wastewater plants against Grade 1A ---------------------------------------------------


class Plant:
    def __init__(self, built: date) -> None:
        self.built = built


def test_plants_are_judged_on_their_period_means():
    plants = {"p1": Plant(date(2010, 1, 1)), "p2": Plant(date(2001, 1, 1))}
    days = {
        # COD daily means 40 and 58: period mean 49, within 1A (50) though one day is over it.
        "p1": {"2025-03-01": sums({"cod": "40"}, {"cod": "40"}), "2025-03-02": sums({"cod": "58"})},
        # TP 0.8: over 1A for a plant built from 2006 (0.5), within it before (1.0); NH3-N 7 in
        # cold water (10 °C): within the cold limit 8.
        "p2": {"2025-03-01": sums({"tp": "0.8", "nh3n": "7", "temp": "10"})},
    }
    grades = {(g.site, g.period): g for g in plant_grades(days, plants, "1A", 2025)}
    assert grades[("p1", "year")].meets and grades[("p1", "year")].days == 2
    assert grades[("p2", "month")].meets and grades[("p2", "month")].grade_met == "1A"
    plants["p2"] = Plant(date(2010, 1, 1))
    late = {(g.site, g.period): g for g in plant_grades(days, plants, "1A", 2025)}
    assert not late[("p2", "year")].meets and late[("p2", "year")].exceeding == ("tp",)


def test_the_plant_share_is_no_figure_without_the_feed():
    register = Register({}, {}, {}, {"p1": Plant(date(2010, 1, 1))})
    assert ("wastewater_grade1a_ratio", CITY) not in assess(
        Year(2025), register, TARGETS, 10
    ).figures
    year = Year(2025, plants={"p1": {"2025-03-01": sums({"cod": "60"})}})
    figure = assess(year, register, TARGETS, 10).figures[("wastewater_grade1a_ratio", CITY)]
    assert (figure.value, figure.goal, figure.status) == (0.0, 1.0, "at_risk")


def test_as_of_is_the_newest_air_day_else_the_newest_reading():
    assert Year(2025, air=days_of(2025, 3, 2)).as_of() == date(2025, 3, 2)
    assert Year(2025, newest=date(2025, 5, 5)).as_of() == date(2025, 5, 5)
    assert Year(2025).as_of() == date(2025, 1, 1)
