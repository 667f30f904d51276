"""Plan targets: good-day budget, PM2.5 reduction, section shares, energy intensity path."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.standards.air_limits import Invalid, Mean
from alerts.targets import (
    DEFAULT_FILE,
    SectionClass,
    Targets,
    count_days,
    good_day_progress,
    intensity_path,
    intensity_progress,
    load_targets,
    parse_targets,
    pm25_progress,
    sections_progress,
)

DEFAULTS = load_targets()
CONFIGURED = dataclasses.replace(
    DEFAULTS, pm25_baseline=Fraction(50), intensity_reduction=Fraction(17, 100)
)


def test_default_file_holds_the_plan_figures() -> None:
    assert DEFAULTS.good_day_ratio == Fraction(85, 100)
    assert DEFAULTS.pm25_reduction == Fraction(40, 100) and DEFAULTS.pm25_baseline is None
    assert DEFAULTS.class3_overall == Fraction(80, 100) and DEFAULTS.class3_overall_strict
    assert DEFAULTS.class3_by_level == {
        "county_boundary": Fraction(90, 100),
        "provincial": Fraction(75, 100),
    }
    assert DEFAULTS.class5_max == 0
    assert (DEFAULTS.intensity_base_year, DEFAULTS.intensity_base) == (2015, Fraction(525, 1000))
    assert DEFAULTS.intensity_target_year == 2020 and DEFAULTS.intensity_reduction is None
    assert (DEFAULTS.wastewater_grade, DEFAULTS.wastewater_share) == ("1A", 1)


def test_count_days() -> None:
    assert count_days([50, 100, 101, None, 300]) == (2, 4)


# --- bad-day budget ---


def test_budget_on_1_january() -> None:
    # 365 days, 85% -> 311 good days needed (310.25 rounded up): 54 bad days allowed in all.
    assert good_day_progress(1, 1, date(2019, 1, 1)).bad_day_budget == 54
    assert good_day_progress(0, 1, date(2019, 1, 1)).bad_day_budget == 53


def test_budget_in_a_leap_year() -> None:
    first = good_day_progress(0, 1, date(2020, 1, 1))  # 366 x 0.85 = 311.1 -> 312 good needed
    assert (first.days_left, first.bad_day_budget) == (365, 53)
    assert good_day_progress(58, 60, date(2020, 2, 29)).days_left == 306


def test_budget_on_31_december() -> None:
    met = good_day_progress(311, 365, date(2019, 12, 31))
    assert (met.days_left, met.bad_day_budget, met.status) == (0, 0, "met")
    missed = good_day_progress(310, 365, date(2019, 12, 31))
    assert (missed.bad_day_budget, missed.status) == (0, "missed")
    assert good_day_progress(312, 366, date(2020, 12, 31)).status == "met"
    assert good_day_progress(311, 366, date(2020, 12, 31)).status == "missed"


def test_status_at_risk_and_out_of_reach() -> None:
    behind = good_day_progress(70, 100, date(2019, 4, 10))
    assert behind.status == "at_risk" and behind.bad_day_budget > 0
    assert good_day_progress(100, 300, date(2019, 10, 27)).status == "missed"


def test_days_without_valid_data_are_allowed() -> None:
    progress = good_day_progress(0, 0, date(2019, 1, 1))
    assert progress.ratio is None and progress.status == "met"
    assert good_day_progress(0, 0, date(2019, 12, 31)).status == "missed"
    with pytest.raises(ValueError):
        good_day_progress(5, 4, date(2019, 1, 10))
    with pytest.raises(ValueError):
        good_day_progress(3, 3, date(2019, 1, 2))


year_day = st.builds(
    lambda year, n: date(year, 1, 1) + timedelta(days=n % (366 if year % 4 == 0 else 365)),
    st.integers(2016, 2030),
    st.integers(0, 365),
)


@given(day=year_day, data=st.data())
def test_budget_is_the_largest_that_still_reaches_the_target(day: date, data) -> None:
    elapsed = day.timetuple().tm_yday
    valid = data.draw(st.integers(0, elapsed))
    good = data.draw(st.integers(0, valid))
    progress = good_day_progress(good, valid, day)
    budget, left = progress.bad_day_budget, progress.days_left
    assert 0 <= budget <= left

    def reaches(bad: int) -> bool:
        return Fraction(good + left - bad, valid + left or 1) >= Fraction(85, 100)

    if progress.status != "missed":
        assert reaches(budget) and (budget == left or not reaches(budget + 1))


@given(day=year_day, data=st.data())
def test_budget_never_rises_as_the_year_goes_on(day: date, data) -> None:
    if day.month == 12 and day.day == 31:
        return
    elapsed = day.timetuple().tm_yday
    valid = data.draw(st.integers(0, elapsed))
    good = data.draw(st.integers(0, valid))
    today = good_day_progress(good, valid, day).bad_day_budget
    tomorrow = day + timedelta(days=1)
    assert good_day_progress(good + 1, valid + 1, tomorrow).bad_day_budget <= today
    assert good_day_progress(good, valid + 1, tomorrow).bad_day_budget <= today
    assert good_day_progress(good, valid, tomorrow).bad_day_budget <= today
    if good < valid:
        assert good_day_progress(good + 1, valid, day).bad_day_budget >= today


# --- PM2.5 ---


def test_pm25_target_concentration_and_year_end() -> None:
    met = pm25_progress([30.0] * 324 + [None] * 41, date(2020, 12, 31), CONFIGURED)
    assert met.target_concentration == 30 and met.status == "met"
    assert met.annual_mean == Mean(Fraction(30), 324) and met.reduction == Fraction(2, 5)
    assert met.edition == "gb3095-2012"
    over = pm25_progress([30.5] * 365, date(2019, 12, 31), CONFIGURED)
    assert over.status == "missed"


def test_pm25_invalid_annual_mean_cannot_meet_the_target() -> None:
    result = pm25_progress([20.0] * 323 + [None] * 42, date(2019, 12, 31), CONFIGURED)
    assert isinstance(result.annual_mean, Invalid) and result.status == "missed"


def test_pm25_during_the_year() -> None:
    assert pm25_progress([35.0] * 100, date(2019, 4, 10), CONFIGURED).status == "at_risk"
    assert pm25_progress([25.0] * 100, date(2019, 4, 10), CONFIGURED).status == "met"


def test_pm25_needs_a_baseline() -> None:
    with pytest.raises(ValueError):
        pm25_progress([30.0], date(2019, 1, 1), DEFAULTS)


# --- surface-water sections ---


def _sections(classes: dict[str, list[int]]) -> list[SectionClass]:
    return [
        SectionClass(f"{level}-{i}", level, cls)
        for level, values in classes.items()
        for i, cls in enumerate(values)
    ]


def test_overall_share_must_exceed_80_percent() -> None:
    exactly_80 = _sections({"national": [2, 2, 3, 3, 4]})
    assert sections_progress(exactly_80, DEFAULTS).overall.status == "at_risk"
    assert sections_progress(exactly_80, DEFAULTS, final=True).overall.status == "missed"
    above = _sections({"national": [2, 2, 3, 3, 3, 3, 3, 3, 3, 4]})
    assert sections_progress(above, DEFAULTS).overall.status == "met"


def test_shares_by_control_level() -> None:
    sections = _sections(
        {"county_boundary": [1, 2, 3, 3, 3, 3, 3, 3, 3, 4], "provincial": [3, 3, 3, 4]}
    )
    result = sections_progress(sections, DEFAULTS).by_level
    assert result["county_boundary"].share == Fraction(9, 10)
    assert result["county_boundary"].status == "met"  # 90% meets 90%
    assert (result["provincial"].share, result["provincial"].status) == (Fraction(3, 4), "met")


def test_levels_without_a_target_report_a_share_only() -> None:
    result = sections_progress(_sections({"national": [3, 4]}), DEFAULTS).by_level
    assert result["national"].share == Fraction(1, 2) and result["national"].status is None
    assert result["provincial"].share is None and result["provincial"].sites == 0


def test_class_v_or_worse() -> None:
    sections = _sections({"provincial": [3, 5, 6, 4]})
    result = sections_progress(sections, DEFAULTS)
    assert result.class5_or_worse == ("provincial-1", "provincial-2")
    assert result.class5_status == "at_risk"
    assert sections_progress(sections, DEFAULTS, final=True).class5_status == "missed"
    clean = sections_progress(_sections({"provincial": [1, 4]}), DEFAULTS)
    assert clean.class5_or_worse == () and clean.class5_status == "met"


# --- energy intensity ---


def test_intensity_path_reaches_the_target_in_the_last_year() -> None:
    assert intensity_path(2015, CONFIGURED) == Decimal("0.5250")
    assert intensity_path(2020, CONFIGURED) == Decimal("0.4358")  # 0.525 x 0.83 = 0.43575
    assert intensity_path(2017, CONFIGURED) < intensity_path(2016, CONFIGURED)


def test_intensity_status() -> None:
    assert intensity_progress(2018, 0.47, CONFIGURED).status == "at_risk"
    assert intensity_progress(2018, 0.46, CONFIGURED).status == "met"
    final = intensity_progress(2020, 0.44, CONFIGURED)
    assert final.status == "missed" and final.change_vs_base == pytest.approx(0.44 / 0.525 - 1)
    with pytest.raises(ValueError):
        intensity_path(2018, DEFAULTS)


def test_a_target_file_can_change_every_figure() -> None:
    text = DEFAULT_FILE.read_text(encoding="utf-8")
    assert isinstance(parse_targets(text), Targets)
    changed = text.replace("target = 0.85", "target = 0.9").replace("# reduction =", "reduction =")
    assert parse_targets(changed).good_day_ratio == Fraction(9, 10)
    assert parse_targets(changed).intensity_reduction == 0
