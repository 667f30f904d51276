"""Energy in tonnes of standard coal equivalent (GB/T 2589) and energy intensity.

Electricity is converted at its equivalent value (当量值, 0.1229 kgce/kWh) unless the equal value
(等价值) is asked for; that one follows the year's thermal generation coal rate, so callers may pass
the year's figure. Sums are exact decimals; results are floats for storage and display.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache
from typing import Literal

from alerts.standards import Number, ReadingError, exact
from alerts.standards.editions import Edition, by_name, resolve

ElectricityBasis = Literal["equivalent", "equal"]
KG_PER_TONNE = 1000


@dataclass(frozen=True)
class TceResult:
    tce: float
    by_carrier: Mapping[str, float]  # tce per carrier
    electricity: ElectricityBasis
    electricity_kgce_per_kwh: float
    edition: str


def coefficients(
    electricity: ElectricityBasis = "equivalent",
    equal_value_kgce_per_kwh: Number | None = None,
    edition: Edition | str | None = None,
) -> dict[str, Fraction]:
    """kgce per metered unit of each carrier, with the electricity basis chosen."""
    ed = resolve("energy", edition, None)
    table = dict(_coefficients(ed.id))
    if electricity == "equal" and equal_value_kgce_per_kwh is not None:
        table["electricity_kwh"] = exact("equal_value_kgce_per_kwh", equal_value_kgce_per_kwh)
    else:
        table["electricity_kwh"] = Fraction(ed.data["electricity_kwh"][electricity])
    return table


@cache
def _coefficients(edition_id: str) -> tuple[tuple[str, Fraction], ...]:
    """An edition's carriers and coefficients as exact rationals, made once."""
    data = by_name("energy", edition_id).data["coefficients"]
    return tuple((k, Fraction(v)) for k, v in data.items())


def convert(
    consumption: Mapping[str, Number | None],
    electricity: ElectricityBasis = "equivalent",
    equal_value_kgce_per_kwh: Number | None = None,
    edition: Edition | str | None = None,
) -> TceResult:
    """Total and per-carrier tce of metered consumption (missing carriers count as none)."""
    ed = resolve("energy", edition, None)
    table = coefficients(electricity, equal_value_kgce_per_kwh, ed)
    by_carrier: dict[str, Fraction] = {}
    for carrier, amount in consumption.items():
        if amount is None:
            continue
        if carrier not in table:
            raise ReadingError(f"unknown energy carrier {carrier!r}; known: {', '.join(table)}")
        value = exact(carrier, amount)
        if value < 0:
            raise ReadingError(f"{carrier}: {amount!r} is negative")
        by_carrier[carrier] = value * table[carrier] / KG_PER_TONNE
    return TceResult(
        tce=float(sum(by_carrier.values(), Fraction(0))),
        by_carrier={k: float(v) for k, v in by_carrier.items()},
        electricity=electricity,
        electricity_kgce_per_kwh=float(table["electricity_kwh"]),
        edition=ed.id,
    )


def to_tce(
    consumption: Mapping[str, Number | None],
    electricity: ElectricityBasis = "equivalent",
    equal_value_kgce_per_kwh: Number | None = None,
    edition: Edition | str | None = None,
) -> float:
    """Total tce of metered consumption; see :func:`convert` for the breakdown and edition."""
    return convert(consumption, electricity, equal_value_kgce_per_kwh, edition).tce


def intensity(tce: Number, output_10k_yuan: Number) -> float:
    """Energy intensity in tce per 10,000 yuan of output (GDP at constant base-year prices)."""
    output = exact("output_10k_yuan", output_10k_yuan)
    if output <= 0:
        raise ReadingError(f"output must be positive, not {output_10k_yuan!r}")
    return float(exact("tce", tce) / output)


def round4(value: Number) -> Decimal:
    """An intensity kept to 4 decimal places, as statistics bulletins do before comparing."""
    rational = exact("intensity", value)
    return (Decimal(rational.numerator) / Decimal(rational.denominator)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP
    )


def change_rate(current: Number, base: Number) -> float:
    """Change of intensity against a base year, as a fraction (-0.0312 is a 3.12% fall).

    Each year's intensity is rounded to 4 decimals first, per the statistics-bureau method.
    """
    base4 = round4(base)
    if base4 <= 0:
        raise ReadingError(f"base intensity must be positive, not {base!r}")
    return float(Fraction(round4(current)) / Fraction(base4) - 1)
