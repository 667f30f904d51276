"""The standards the judgement rests on, as pure functions over data files with editions.

Numbers from readings are taken as the decimals they were written as, so that comparisons with
limits are exact (a mean of 0.68/4 compares as <= 0.2, not as a binary float slightly above it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Context, Decimal, Inexact, Rounded
from fractions import Fraction
from functools import lru_cache

Number = int | float | Decimal | Fraction


class ReadingError(ValueError):
    """An input that cannot be judged: unknown key, not a number, negative or implausible."""


def decimal_of(name: str, value: object) -> Decimal:
    """``value`` (not a Fraction) as the decimal it was written as; floats through their repr."""
    if type(value) is float and math.isfinite(value):  # the common case, first
        return _float_decimal(value)
    if isinstance(value, bool) or not isinstance(value, Number) or isinstance(value, Fraction):
        raise ReadingError(f"{name}: {value!r} is not a number")
    d = _float_decimal(value) if isinstance(value, float) else Decimal(value)
    if not d.is_finite():
        raise ReadingError(f"{name}: {value!r} is not a finite number")
    return d


def plain_decimals(values: Sequence[object]) -> list[Decimal] | None:
    """The decimals of finite, non-negative floats, or None if any value is anything else
    (the caller then takes its checked path, which names the offending value)."""
    if all(type(v) is float and 0.0 <= v < math.inf for v in values):  # type: ignore[operator]
        return [_float_decimal(v) for v in values]  # type: ignore[arg-type]
    return None


def exact(name: str, value: object) -> Fraction:
    """``value`` as an exact rational; floats are read through their shortest decimal repr."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return _float_fraction(value)
    return Fraction(decimal_of(name, value))


def water_value(name: str, value: object) -> Fraction:
    """A water item's value, exact: never negative, and pH within 0-14."""
    exact_value = exact(name, value)
    if exact_value < 0 or (name == "ph" and exact_value > 14):
        raise ReadingError(f"{name}: {value!r} is out of the physical range")
    return exact_value


# Readings repeat the same few thousand values (instruments report to 0.1 or 1 µg/m³), and
# turning a float into an exact decimal and rational is most of the cost of judging one.
@lru_cache(maxsize=65536)
def _float_decimal(value: float) -> Decimal:
    return Decimal(repr(value))


@lru_cache(maxsize=65536)
def _float_fraction(value: float) -> Fraction:
    return Fraction(_float_decimal(value))


_THOUSANDTHS: dict[float, int | None] = {}
# Below this a float's shortest decimal with at most three places is the only such decimal that
# rounds to it (two such decimals are 0.001 apart, an ulp only from about 4e12).
_SCALED_BELOW = 1e12


def thousandths(value: float) -> int | None:
    """``value`` in thousandths when its decimal (its shortest repr) has at most three places,
    else None; readings repeat their values, so the answers are remembered."""
    try:
        return _THOUSANDTHS[value]
    except KeyError:
        pass
    scaled = round(value * 1000)
    found = scaled if abs(value) < _SCALED_BELOW and scaled / 1000 == value else None
    if len(_THOUSANDTHS) > 1 << 17:
        _THOUSANDTHS.clear()
    _THOUSANDTHS[value] = found
    return found


def rational(value: float) -> tuple[int, int]:
    """``value`` as the exact rational of its decimal, (numerator, denominator)."""
    scaled = thousandths(value)
    if scaled is not None:
        return scaled, 1000
    exact_value = _float_fraction(value)
    return exact_value.numerator, exact_value.denominator


# Exact sums of decimals: enough digits for any sum of readings, and an error if not.
EXACT_SUM = Context(prec=200, traps=[Inexact, Rounded])
