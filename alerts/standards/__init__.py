"""The standards the judgement rests on, as pure functions over data files with editions.

Numbers from readings are taken as the decimals they were written as, so that comparisons with
limits are exact (a mean of 0.68/4 compares as <= 0.2, not as a binary float slightly above it).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

Number = int | float | Decimal | Fraction


class ReadingError(ValueError):
    """An input that cannot be judged: unknown key, not a number, negative or implausible."""


def exact(name: str, value: object) -> Fraction:
    """``value`` as an exact rational; floats are read through their shortest decimal repr."""
    if isinstance(value, bool) or not isinstance(value, Number):
        raise ReadingError(f"{name}: {value!r} is not a number")
    if isinstance(value, Fraction):
        return value
    d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not d.is_finite():
        raise ReadingError(f"{name}: {value!r} is not a finite number")
    return Fraction(d)
