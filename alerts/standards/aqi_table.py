"""HJ 633 sub-indices in integer arithmetic: the judgement's hot path, exact without Fraction.

The rule and the edition data are those of :mod:`alerts.standards.aqi`, the reference built on
``Fraction``. Here a concentration is a rational ``num / den`` (a reading in thousandths, a
moving mean as its exact sum over its count in thousandths) and every breakpoint a rational,
so one interpolation is one integer ceiling division. The tests require both modules to give
the same sub-index for every breakpoint, both sides of it, and random values.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import cache
from typing import NamedTuple

from alerts.standards import ReadingError, rational
from alerts.standards.aqi import ABSURD_FACTOR, COLUMN
from alerts.standards.editions import by_name

Rational = tuple[int, int]  # (numerator, positive denominator)


class Band(NamedTuple):
    """One segment of a breakpoint column, prepared for :meth:`Column.sub_index`."""

    hi_num: int
    hi_den: int
    lo_num: int
    lo_den: int
    width: int  # (hi - lo) * lo_den * hi_den
    iaqi_lo: int
    iaqi_span: int


class Column(NamedTuple):
    bands: tuple[Band, ...]
    top: Rational
    absurd: Rational  # above this a value is a unit or transmission error


def _rational(value: object) -> Rational:
    f = Fraction(str(value))
    return f.numerator, f.denominator


def _column(breakpoints: Sequence[object], iaqi: Sequence[int]) -> Column:
    points = [_rational(bp) for bp in breakpoints]
    bands = tuple(
        Band(hn, hd, ln, ld, hn * ld - ln * hd, i_lo, i_hi - i_lo)
        for (ln, ld), (hn, hd), i_lo, i_hi in zip(points, points[1:], iaqi, iaqi[1:], strict=False)
    )
    top = points[-1]
    return Column(bands, top, (top[0] * ABSURD_FACTOR, top[1]))


class SubIndex(NamedTuple):
    value: int | None  # rounded up; None above the key's top breakpoint
    num: int  # the concentration, num / den
    den: int


class Table:
    """One AQI edition's columns by input key, its categories, and a cache of raw readings."""

    def __init__(self, edition_id: str) -> None:
        data = by_name("aqi", edition_id).data
        self.edition = edition_id
        iaqi = data["breakpoints"]["iaqi"]
        self.columns = {
            key: _column(data["breakpoints"][column], iaqi) for key, column in COLUMN.items()
        }
        self.category_max = tuple(row["max_aqi"] for row in data["categories"] if "max_aqi" in row)
        # Above these the air is polluted (轻度污染 and worse) and heavily polluted (重度污染 and
        # worse): the top of the second category (良) and of the fourth (中度污染).
        self.polluted = (self.category_max[1], self.category_max[3])
        # Sub-indices of readings' values by input key, as they are asked for.
        self.readings: dict[str, dict[float, SubIndex]] = {key: {} for key in COLUMN}

    def of_reading(self, key: str, value: float) -> SubIndex:
        """The sub-index of a reading's value, remembered: readings repeat their values."""
        seen = self.readings[key]
        found = seen.get(value)
        if found is None:
            if len(seen) > 1 << 16:
                seen.clear()
            num, den = rational(value)
            found = seen[value] = SubIndex(self.sub_index(key, num, den), num, den)
        return found

    def sub_index(self, key: str, num: int, den: int) -> int | None:
        """The rounded-up sub-index of ``num / den``; None above the top breakpoint."""
        column = self.columns[key]
        if num < 0:
            raise ReadingError(f"{key}: {num}/{den} is negative")
        if num * column.absurd[1] > column.absurd[0] * den:
            raise ReadingError(f"{key}: {num}/{den} is implausible; check the unit")
        for band in column.bands:
            if num * band.hi_den <= band.hi_num * den:
                above_lo = (num * band.lo_den - band.lo_num * den) * band.hi_den
                return band.iaqi_lo - (-(band.iaqi_span * above_lo) // (den * band.width))
        return None

    def category(self, aqi_value: int) -> int:
        """Category 1-6 of an integer AQI."""
        for number, bound in enumerate(self.category_max, start=1):
            if aqi_value <= bound:
                return number
        return len(self.category_max) + 1

    def top(self, key: str) -> Rational:
        return self.columns[key].top


@cache
def table(edition_id: str) -> Table:
    return Table(edition_id)
