"""GB 3095 limits, the averages they apply to, and the data-validity rules for those averages.

An average without enough data is an explicit :class:`Invalid`, never a number, so it cannot be
compared with a limit by mistake. Means are exact rationals over the readings' decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Literal

from alerts.standards import (
    EXACT_SUM,
    Number,
    ReadingError,
    decimal_of,
    exact,
    plain_decimals,
)
from alerts.standards.editions import Edition, resolve

Period = Literal["1h", "24h", "max_8h", "annual", "quarterly"]
Grade = Literal[1, 2]  # grade I for class-1 zones, grade II for class-2 zones


@dataclass(frozen=True)
class Mean:
    value: Fraction
    count: int  # valid hours, windows or days behind it

    def __float__(self) -> float:
        return float(self.value)


@dataclass(frozen=True)
class Invalid:
    reason: str
    count: int
    required: int


Average = Mean | Invalid
Daily = Number | Mean | Invalid | None


@dataclass(frozen=True)
class Exceedance:
    pollutant: str
    period: str
    grade: int
    value: Fraction
    limit: Fraction
    exceeds: bool  # strictly above the limit; equal to it meets the standard
    multiple: Fraction | None  # (C - limit) / limit when exceeding
    edition: str


def _values(items: Sequence[Daily], most: int, what: str) -> list[Fraction | Decimal]:
    """The valid values: readings as their exact decimals, means as their exact rationals."""
    if len(items) > most:
        raise ReadingError(f"{len(items)} values given for {what}; at most {most}")
    plain = plain_decimals([item for item in items if item is not None])
    if plain is not None:  # hourly readings: the moving means of every reading
        return list(plain)
    found: list[Fraction | Decimal] = []
    for item in items:
        if isinstance(item, Mean):
            found.append(item.value)
        elif isinstance(item, Fraction):
            found.append(exact(what, item))
        elif item is not None and not isinstance(item, Invalid):
            found.append(decimal_of(what, item))
        else:
            continue
        if found[-1] < 0:
            raise ReadingError(f"{what}: {item!r} is negative")
    return found


def _mean(items: Sequence[Daily], most: int, required: int, what: str) -> Average:
    found = _values(items, most, what)
    if len(found) < required:
        reason = f"{what}: {len(found)} valid values, {required} needed"
        return Invalid(reason, len(found), required)
    if all(type(v) is Decimal for v in found):
        # Summing decimals exactly, then one division, gives the same rational as summing
        # rationals, many times faster (the moving averages run on every hourly reading).
        with localcontext(EXACT_SUM):
            total = Fraction(sum(found, Decimal(0)))
    else:
        total = sum((v if isinstance(v, Fraction) else Fraction(v) for v in found), Fraction(0))
    return Mean(total / len(found), len(found))


def _rules(edition: Edition | str | None, at: datetime | None) -> dict[str, int]:
    return dict(resolve("air", edition, at).data["validity"])


def daily_mean(
    hourly: Sequence[Daily], edition: Edition | str | None = None, at: datetime | None = None
) -> Average:
    """24-hour mean of a day's hourly means (None for a missing hour): needs >= 20 hours."""
    return _mean(hourly, 24, _rules(edition, at)["hours_per_day"], "24-hour mean")


def o3_8h_mean(
    window: Sequence[Daily], edition: Edition | str | None = None, at: datetime | None = None
) -> Average:
    """O3 8-hour moving average over the 8 hours ending at the current hour: needs >= 6."""
    return _mean(window, 8, _rules(edition, at)["hours_per_8h"], "O3 8-hour mean")


def daily_max_8h(
    hourly: Sequence[Daily], edition: Edition | str | None = None, at: datetime | None = None
) -> Average:
    """O3 daily maximum 8-hour mean over the 17 windows inside the day's 24 hourly values.

    Valid with >= 14 valid windows (HJ 663 as commonly described; the threshold is edition data).
    """
    if len(hourly) != 24:
        raise ReadingError(f"daily max 8-hour O3 needs 24 hourly values, got {len(hourly)}")
    ed = resolve("air", edition, at)
    windows = [o3_8h_mean(hourly[i : i + 8], ed) for i in range(17)]
    valid = [w.value for w in windows if isinstance(w, Mean)]
    needed = _rules(ed, at)["windows_per_day"]
    if len(valid) < needed:
        return Invalid(f"daily max 8-hour O3: {len(valid)} valid windows", len(valid), needed)
    return Mean(max(valid), len(valid))


def required_days(
    month: int | None, edition: Edition | str | None = None, at: datetime | None = None
) -> int:
    """Valid daily means a monthly mean needs (27, 25 in February), or with ``month`` None an
    annual mean (324)."""
    rules = _rules(edition, at)
    if month is None:
        return rules["days_per_year"]
    return rules["days_in_february"] if month == 2 else rules["days_per_month"]


def monthly_mean(
    daily: Sequence[Daily],
    month: int,
    edition: Edition | str | None = None,
    at: datetime | None = None,
) -> Average:
    """Monthly mean of daily means: needs >= 27 valid days (>= 25 in February)."""
    return _mean(daily, 31, required_days(month, edition, at), "monthly mean")


def annual_mean(
    daily: Sequence[Daily], edition: Edition | str | None = None, at: datetime | None = None
) -> Average:
    """Annual mean of daily means: needs >= 324 valid days."""
    return _mean(daily, 366, required_days(None, edition, at), "annual mean")


def limit(
    pollutant: str,
    period: Period,
    grade: Grade = 2,
    edition: Edition | str | None = None,
    at: datetime | None = None,
) -> Fraction:
    """The GB 3095 limit of a pollutant for an averaging period and grade."""
    ed = resolve("air", edition, at)
    try:
        return Fraction(ed.data["limits"][pollutant][period][grade - 1])
    except (KeyError, IndexError) as exc:
        raise ReadingError(f"{ed.id} has no grade {grade} {period} limit for {pollutant}") from exc


def exceedance(
    pollutant: str,
    period: Period,
    value: Average | Number,
    grade: Grade = 2,
    edition: Edition | str | None = None,
    at: datetime | None = None,
) -> Exceedance | Invalid:
    """Compare an average with its limit; an invalid average stays invalid."""
    if isinstance(value, Invalid):
        return value
    ed = resolve("air", edition, at)
    c = value.value if isinstance(value, Mean) else exact(pollutant, value)
    lim = limit(pollutant, period, grade, ed)
    over = c > lim
    multiple = (c - lim) / lim if over else None
    return Exceedance(pollutant, period, grade, c, lim, over, multiple, ed.id)
