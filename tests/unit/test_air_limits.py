"""GB 3095 limits, exceedance by grade, and the data-validity rules for each average."""

from __future__ import annotations

from fractions import Fraction

import pytest

from alerts.standards import ReadingError
from alerts.standards.air_limits import (
    Exceedance,
    Invalid,
    Mean,
    annual_mean,
    daily_max_8h,
    daily_mean,
    exceedance,
    limit,
    monthly_mean,
    o3_8h_mean,
)

# GB 3095-2012 Table 1, copied by hand from standards.md section 2.1: (pollutant, period, I, II).
TABLE_1 = [
    ("so2", "annual", 20, 60),
    ("so2", "24h", 50, 150),
    ("so2", "1h", 150, 500),
    ("no2", "annual", 40, 40),
    ("no2", "24h", 80, 80),
    ("no2", "1h", 200, 200),
    ("co", "24h", 4, 4),
    ("co", "1h", 10, 10),
    ("o3", "max_8h", 100, 160),
    ("o3", "1h", 160, 200),
    ("pm10", "annual", 40, 70),
    ("pm10", "24h", 50, 150),
    ("pm25", "annual", 15, 35),
    ("pm25", "24h", 35, 75),
]
TABLE_2026 = [
    (p, per, g1, {("pm25", "annual"): 30, ("pm25", "24h"): 60}.get((p, per), g2))
    for p, per, g1, g2 in TABLE_1
]
EDITION = "2012"


@pytest.mark.parametrize(("edition", "table"), [("2012", TABLE_1), ("2026", TABLE_2026)])
def test_limits_match_the_published_table(edition: str, table: list) -> None:
    for pollutant, period, grade1, grade2 in table:
        assert limit(pollutant, period, 1, edition) == grade1
        assert limit(pollutant, period, 2, edition) == grade2


@pytest.mark.parametrize(("pollutant", "period", "grade1", "grade2"), TABLE_1)
@pytest.mark.parametrize("grade", [1, 2])
def test_exceedance_on_both_sides_of_each_limit(
    pollutant: str, period: str, grade1: int, grade2: int, grade: int
) -> None:
    lim = grade1 if grade == 1 else grade2
    at = exceedance(pollutant, period, lim, grade, EDITION)  # type: ignore[arg-type]
    assert isinstance(at, Exceedance) and not at.exceeds and at.multiple is None
    over = exceedance(pollutant, period, lim * 1.5, grade, EDITION)  # type: ignore[arg-type]
    assert isinstance(over, Exceedance) and over.exceeds and over.multiple == Fraction(1, 2)
    assert over.edition == "gb3095-2012"


def test_other_pollutants_table_2() -> None:
    assert limit("tsp", "24h", 2, EDITION) == 300
    assert limit("pb", "quarterly", 1, EDITION) == 1
    assert limit("bap", "24h", 2, EDITION) == Fraction(25, 10000)


def test_missing_limit_is_an_error() -> None:
    with pytest.raises(ReadingError):
        limit("co", "annual", 2, EDITION)


def test_invalid_average_is_never_compared() -> None:
    invalid = daily_mean([50] * 19, EDITION)
    assert exceedance("pm25", "24h", invalid, 2, EDITION) is invalid


def hours(valid: int, total: int = 24, value: float = 50.0) -> list[float | None]:
    return [value] * valid + [None] * (total - valid)


def test_24h_mean_needs_20_hours() -> None:
    assert isinstance(daily_mean(hours(19), EDITION), Invalid)
    assert daily_mean(hours(20), EDITION) == Mean(Fraction(50), 20)


def test_o3_8h_needs_6_of_8_hours() -> None:
    assert isinstance(o3_8h_mean(hours(5, 8), EDITION), Invalid)
    assert o3_8h_mean(hours(6, 8), EDITION) == Mean(Fraction(50), 6)


def test_daily_max_8h_takes_the_highest_valid_window() -> None:
    day: list[float | None] = [40.0] * 24
    day[12:20] = [200.0] * 8
    assert daily_max_8h(day, EDITION) == Mean(Fraction(200), 17)


def test_daily_max_8h_needs_14_valid_windows() -> None:
    # Hours 0..2 missing -> windows 0..2 have 5..7 valid hours; each missing hour shifts validity.
    fourteen: list[float | None] = [None] * 5 + [60.0] * 19  # windows 0-2 invalid (<6 hours)
    assert daily_max_8h(fourteen, EDITION) == Mean(Fraction(60), 14)
    thirteen: list[float | None] = [None] * 6 + [60.0] * 18
    assert isinstance(daily_max_8h(thirteen, EDITION), Invalid)


def test_monthly_mean_needs_27_days_or_25_in_february() -> None:
    assert isinstance(monthly_mean(hours(26, 31), 1, EDITION), Invalid)
    assert isinstance(monthly_mean(hours(27, 31), 1, EDITION), Mean)
    assert isinstance(monthly_mean(hours(24, 28), 2, EDITION), Invalid)
    assert isinstance(monthly_mean(hours(25, 28), 2, EDITION), Mean)


def test_annual_mean_needs_324_days() -> None:
    invalid = annual_mean(hours(323, 365), EDITION)
    assert invalid == Invalid("annual mean: 323 valid values, 324 needed", 323, 324)
    assert annual_mean(hours(324, 365), EDITION) == Mean(Fraction(50), 324)


def test_invalid_and_mean_daily_values_feed_longer_averages() -> None:
    days = [Mean(Fraction(30), 24)] * 27 + [Invalid("x", 0, 20)] * 4
    assert monthly_mean(days, 3, EDITION) == Mean(Fraction(30), 27)


def test_means_are_exact() -> None:
    hourly = [4.5, 4.6, 4.0, 4.1, 3.9, 3.1, 4.7, 4.1, 3.4, 4.0]
    hourly += [4.0, 3.7, 3.7, 4.1, 4.2, 4.2, 3.9, 3.1, 3.5, 5.2]
    assert sum(hourly) / 20 > 4  # in binary floats the mean lands just above the CO limit
    co = daily_mean(hourly, EDITION)
    assert co == Mean(Fraction(4), 20)
    verdict = exceedance("co", "24h", co, 2, EDITION)
    assert isinstance(verdict, Exceedance) and not verdict.exceeds


def test_bad_series_are_refused() -> None:
    with pytest.raises(ReadingError):
        daily_mean([1.0] * 25, EDITION)
    with pytest.raises(ReadingError):
        daily_mean([-1.0] * 20, EDITION)
    with pytest.raises(ReadingError):
        daily_max_8h([1.0] * 23, EDITION)
