"""GB/T 2589-2008 standard-coal conversion, energy intensity and its change rate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alerts.standards import ReadingError
from alerts.standards.energy import (
    change_rate,
    coefficients,
    convert,
    intensity,
    round4,
    to_tce,
)

# kgce per metered unit, from standards.md section 4.2 (kgce/kg x 1000 for carriers in tonnes).
COEFFICIENTS = {
    "raw_coal_t": "714.3",
    "coke_t": "971.4",
    "fuel_oil_t": "1428.6",
    "gasoline_t": "1471.4",
    "diesel_t": "1457.1",
    "lpg_t": "1714.3",
    "natural_gas_m3": "1.2143",
    "heat_gj": "34.12",
    "electricity_kwh": "0.1229",
}


@pytest.mark.parametrize(("carrier", "kgce"), sorted(COEFFICIENTS.items()))
def test_each_carrier(carrier: str, kgce: str) -> None:
    assert coefficients()[carrier] == Decimal(kgce)
    assert to_tce({carrier: 1000}) == pytest.approx(float(Decimal(kgce)))


def test_total_and_breakdown_carry_the_edition() -> None:
    result = convert({"electricity_kwh": 1_000_000, "raw_coal_t": 100, "diesel_t": None})
    assert result.tce == pytest.approx(122.9 + 71.43)
    assert result.by_carrier == {"electricity_kwh": 122.9, "raw_coal_t": 71.43}
    assert (result.electricity, result.edition) == ("equivalent", "gbt2589-2008")


def test_electricity_equal_value_default_and_override() -> None:
    assert to_tce({"electricity_kwh": 10_000}, "equal") == pytest.approx(4.04)
    assert to_tce({"electricity_kwh": 10_000}, "equal", 0.305) == pytest.approx(3.05)
    assert to_tce({"electricity_kwh": 10_000}, "equivalent", 0.305) == pytest.approx(1.229)


@pytest.mark.parametrize("consumption", [{"uranium_t": 1}, {"coke_t": -1}, {"coke_t": "x"}])
def test_bad_consumption_is_refused(consumption: dict) -> None:
    with pytest.raises(ReadingError):
        to_tce(consumption)


def test_intensity() -> None:
    assert intensity(525, 1000) == 0.525
    with pytest.raises(ReadingError):
        intensity(1, 0)


def test_change_rate_of_the_12th_plan() -> None:
    # Plan Table 1: 0.74 -> 0.525 is a fall of 29.1%.
    assert round(change_rate(0.525, 0.74) * 100, 1) == -29.1


def test_each_year_is_rounded_to_4_decimals_before_the_ratio() -> None:
    assert round4(0.52545) == Decimal("0.5255") and round4(2 / 3) == Decimal("0.6667")
    assert change_rate(0.52545, 0.5) == pytest.approx(0.5255 / 0.5 - 1)
    assert change_rate(0.52545, 0.5) != pytest.approx(0.52545 / 0.5 - 1, rel=1e-9)
