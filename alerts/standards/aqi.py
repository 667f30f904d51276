"""Air quality index per HJ 633 (IAQI, AQI, primary pollutants, category), by edition.

Concentrations are taken as exact decimals and interpolated with ``Fraction``, so a value on a
breakpoint lands on it exactly; IAQI is rounded up (project decision,
standards.md section 0) and the category comes from the rounded AQI.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from functools import lru_cache

from alerts.standards import Number, ReadingError, exact
from alerts.standards.editions import Edition, by_name, resolve

# Which breakpoint column each input key is read against. PM has only 24-hour breakpoints, so
# 1-hour PM values are read on them (project default for the hourly report).
COLUMN = {
    "so2_1h": "so2_1h",
    "so2_24h": "so2_24h",
    "no2_1h": "no2_1h",
    "no2_24h": "no2_24h",
    "co_1h": "co_1h",
    "co_24h": "co_24h",
    "o3_1h": "o3_1h",
    "o3_8h": "o3_8h",
    "pm10_1h": "pm10_24h",
    "pm10_24h": "pm10_24h",
    "pm25_1h": "pm25_24h",
    "pm25_24h": "pm25_24h",
}
# Notes 2 and 3 of Table 1: above its last breakpoint this key is reported from another key.
SUBSTITUTE = {"so2_1h": "so2_24h", "o3_8h": "o3_1h"}
# Values beyond this multiple of the top breakpoint are unit or transmission errors: the worst
# recorded dust storms reach about 15 times the PM10 top breakpoint of 600 ug/m3.
ABSURD_FACTOR = 20
HOURLY_GASES = ("so2_1h", "no2_1h", "co_1h", "o3_1h", "o3_8h")
DAILY_KEYS = ("so2_24h", "no2_24h", "co_24h", "pm10_24h", "pm25_24h", "o3_1h", "o3_8h")


@dataclass(frozen=True)
class IaqiValue:
    key: str
    concentration: Fraction
    exact: Fraction  # before rounding
    value: int  # rounded up
    flag: str | None = None  # "above_top_breakpoint" or "reported_from_<key>"


@dataclass(frozen=True)
class Category:
    number: int  # 1..6
    level: str  # 一级 .. 六级
    zh: str
    en: str
    color: str  # hex, HJ 633 Appendix A


@dataclass(frozen=True)
class AqiResult:
    aqi: int
    iaqi: Mapping[str, IaqiValue]
    primary_pollutants: tuple[str, ...]  # empty when AQI <= 50
    over_standard: tuple[str, ...]  # IAQI > 100
    category: Category
    edition: str


def concentration(key: str, value: object, edition: Edition) -> Fraction:
    """Validate one input and return it exactly."""
    if key not in COLUMN:
        raise ReadingError(f"unknown pollutant key {key!r}; known: {', '.join(COLUMN)}")
    c = exact(key, value)
    if c < 0:
        raise ReadingError(f"{key}: {value!r} is negative")
    ceiling = edition.data["breakpoints"][COLUMN[key]][-1] * ABSURD_FACTOR
    if c > ceiling:
        raise ReadingError(f"{key}: {value!r} is implausible (above {ceiling}); check the unit")
    return c


def _interpolate(c: Fraction, column: Sequence[Fraction], iaqi: Sequence[int]) -> Fraction:
    for lo, hi, i_lo, i_hi in zip(column, column[1:], iaqi, iaqi[1:], strict=False):
        if c <= hi:
            return (i_hi - i_lo) / (hi - lo) * (c - lo) + i_lo
    raise AssertionError("caller checks the top breakpoint")


def iaqi(
    key: str,
    value: Number,
    edition: Edition | str | None = None,
    at: datetime | None = None,
    others: Mapping[str, Number] | None = None,
) -> IaqiValue:
    """The sub-index of one input; ``others`` supplies the substitute of notes 2 and 3."""
    ed = resolve("aqi", edition, at)
    if isinstance(value, float | int) and not isinstance(value, bool):
        cached = _in_table(key, value, ed.id)
        if cached is not None:
            return cached
    c = concentration(key, value, ed)
    column = _column(ed.id, COLUMN[key])
    if c <= column[-1]:
        exact = _interpolate(c, column, ed.data["breakpoints"]["iaqi"])
        return IaqiValue(key, c, exact, math.ceil(exact))
    substitute = SUBSTITUTE.get(key)
    if substitute and others and substitute in others:
        sub = iaqi(substitute, others[substitute], ed)
        return IaqiValue(key, c, sub.exact, sub.value, f"reported_from_{substitute}")
    return IaqiValue(key, c, Fraction(500), 500, "above_top_breakpoint")


@lru_cache(maxsize=64)
def _column(edition_id: str, column: str) -> tuple[Fraction, ...]:
    """A breakpoint column as exact rationals, built once per edition."""
    return tuple(Fraction(bp) for bp in by_name("aqi", edition_id).data["breakpoints"][column])


def top_breakpoint(key: str, edition: Edition | str | None = None) -> Fraction:
    """The highest concentration the table covers for an input key."""
    ed = resolve("aqi", edition, None)
    return _column(ed.id, COLUMN[key])[-1]


@lru_cache(maxsize=131072)
def _in_table(key: str, value: float | int, edition_id: str) -> IaqiValue | None:
    """The sub-index of a value inside the table, remembered: readings repeat their values.

    None above the top breakpoint, where the result depends on the other inputs (notes 2, 3).
    """
    ed = by_name("aqi", edition_id)
    c = concentration(key, value, ed)
    column = _column(edition_id, COLUMN[key])
    if c > column[-1]:
        return None
    exact = _interpolate(c, column, ed.data["breakpoints"]["iaqi"])
    return IaqiValue(key, c, exact, math.ceil(exact))


def category(aqi_value: int, edition: Edition | str | None = None) -> Category:
    """The category (1-6) of an integer AQI."""
    ed = resolve("aqi", edition, None)
    for number, row in enumerate(ed.data["categories"], start=1):
        if "max_aqi" not in row or aqi_value <= row["max_aqi"]:
            return Category(number, row["level"], row["zh"], row["en"], row["color"])
    raise AssertionError("the last category is open-ended")


def evaluate(
    conc: Mapping[str, Number],
    keys: Sequence[str] | None = None,
    edition: Edition | str | None = None,
    at: datetime | None = None,
) -> AqiResult:
    """AQI over ``keys`` (default: every key given); the rest of ``conc`` serves substitutions."""
    ed = resolve("aqi", edition, at)
    wanted = list(conc) if keys is None else [k for k in keys if k in conc]
    if not wanted:
        raise ReadingError("no pollutant to evaluate")
    subs = {k: iaqi(k, conc[k], ed, others=conc) for k in wanted}
    aqi_value = max(s.value for s in subs.values())
    primary = tuple(k for k, s in subs.items() if s.value == aqi_value) if aqi_value > 50 else ()
    over = tuple(k for k, s in subs.items() if s.value > 100)
    return AqiResult(aqi_value, subs, primary, over, category(aqi_value, ed), ed.id)


def hourly_aqi(
    conc: Mapping[str, Number],
    at: datetime | None = None,
    pm_from_24h: bool = False,
    edition: Edition | str | None = None,
) -> AqiResult:
    """Real-time AQI: 1-hour gases, O3 8-hour moving average, PM 1-hour (or 24-hour moving)."""
    pm = ("pm10_24h", "pm25_24h") if pm_from_24h else ("pm10_1h", "pm25_1h")
    return evaluate(conc, (*HOURLY_GASES, *pm), edition, at)


def daily_aqi(
    conc: Mapping[str, Number],
    at: datetime | None = None,
    edition: Edition | str | None = None,
) -> AqiResult:
    """Daily AQI: 24-hour means, O3 daily max 1-hour (``o3_1h``) and max 8-hour (``o3_8h``)."""
    return evaluate(conc, DAILY_KEYS, edition, at)
