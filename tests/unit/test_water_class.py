"""GB 3838-2002 single-factor class: every limit on both sides, W1-W3, periods, exceedances."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.standards import ReadingError
from alerts.standards.editions import by_name
from alerts.standards.water_class import (
    evaluated,
    exceeding,
    parameter_class,
    period_class,
    sample_class,
)

# GB 3838-2002 Table 1 "<=" items, classes I..V, copied by hand from standards.md section 3.1.
MAX_RIVER = {
    "codmn": [2, 4, 6, 10, 15],
    "cod": [15, 15, 20, 30, 40],
    "bod5": [3, 3, 4, 6, 10],
    "nh3n": ["0.15", "0.5", "1.0", "1.5", "2.0"],
    "tp": ["0.02", "0.1", "0.2", "0.3", "0.4"],
    "tn": ["0.2", "0.5", "1.0", "1.5", "2.0"],
    "cu": ["0.01", "1.0", "1.0", "1.0", "1.0"],
    "zn": ["0.05", "1.0", "1.0", "2.0", "2.0"],
    "fluoride": ["1.0", "1.0", "1.0", "1.5", "1.5"],
    "se": ["0.01", "0.01", "0.01", "0.02", "0.02"],
    "as": ["0.05", "0.05", "0.05", "0.1", "0.1"],
    "hg": ["0.00005", "0.00005", "0.0001", "0.001", "0.001"],
    "cd": ["0.001", "0.005", "0.005", "0.005", "0.01"],
    "cr6": ["0.01", "0.05", "0.05", "0.05", "0.1"],
    "pb": ["0.01", "0.01", "0.05", "0.05", "0.1"],
    "cyanide": ["0.005", "0.05", "0.2", "0.2", "0.2"],
    "phenol": ["0.002", "0.002", "0.005", "0.01", "0.1"],
    "petroleum": ["0.05", "0.05", "0.05", "0.5", "1.0"],
    "las": ["0.2", "0.2", "0.2", "0.3", "0.3"],
    "sulfide": ["0.05", "0.1", "0.2", "0.5", "1.0"],
    "fecal_coliform": [200, 2000, 10000, 20000, 40000],
}
TP_LAKE = ["0.01", "0.025", "0.05", "0.1", "0.2"]
DO = ["7.5", 6, 5, 3, 2]
RIVER_21 = {
    "ph", "do", "codmn", "cod", "bod5", "nh3n", "tp", "cu", "zn", "fluoride", "se", "as", "hg",
    "cd", "cr6", "pb", "cyanide", "phenol", "petroleum", "las", "sulfide",
}  # fmt: skip
ED = "2002"


def _expected(limits: list[Fraction], value: Fraction, at_least: bool = False) -> int:
    meets = [value >= lim if at_least else value <= lim for lim in limits]
    return meets.index(True) + 1 if True in meets else 6


def test_data_file_matches_the_published_table() -> None:
    data = by_name("water", ED).data
    for param, limits in MAX_RIVER.items():
        assert data[param]["max"] == [Fraction(v) for v in limits], param
    assert data["tp"]["lake"] == [Fraction(v) for v in TP_LAKE]
    assert data["do"]["min"] == [Fraction(v) for v in DO]
    assert data["ph"]["range"] == [6, 9]


def test_21_items_for_rivers_and_tn_for_lakes() -> None:
    assert set(evaluated("river", ED)) == RIVER_21
    assert set(evaluated("lake", ED)) == RIVER_21 | {"tn"}


CASES = [
    (param, "river", [Fraction(v) for v in limits], k)
    for param, limits in MAX_RIVER.items()
    for k in range(5)
] + [("tp", "lake", [Fraction(v) for v in TP_LAKE], k) for k in range(5)]


@pytest.mark.parametrize(("param", "body", "limits", "k"), CASES)
def test_every_limit_on_both_sides(param: str, body: str, limits: list, k: int) -> None:
    limit, delta = limits[k], limits[k] / 1000
    at = parameter_class(param, limit, body, ED)  # type: ignore[arg-type]
    assert at == limits.index(limit) + 1 <= k + 1  # equal limits give the best class
    above = parameter_class(param, limit + delta, body, ED)  # type: ignore[arg-type]
    assert above == _expected(limits, limit + delta) > k + 1
    assert parameter_class(param, limit - delta, body, ED) <= at  # type: ignore[arg-type]


@pytest.mark.parametrize("k", range(5))
def test_do_limits_are_minimums(k: int) -> None:
    limits = [Fraction(v) for v in DO]
    assert parameter_class("do", limits[k], "river", ED) == k + 1
    below = limits[k] - Fraction(1, 100)
    assert parameter_class("do", below, "river", ED) == _expected(limits, below, True) == k + 2


@pytest.mark.parametrize(("ph", "cls"), [(6, 1), (9, 1), (7.5, 1), (5.99, 6), (9.01, 6)])
def test_ph_outside_6_to_9_is_worse_than_v(ph: float, cls: int) -> None:
    assert parameter_class("ph", ph, "river", ED) == cls


W1 = {"ph": 7.2, "do": 8.1, "codmn": 1.8, "cod": 12, "bod5": 2.1, "nh3n": 0.12, "tp": 0.018}
W2 = {"ph": 7.6, "do": 6.5, "codmn": 3.2, "cod": 16, "bod5": 2.8, "nh3n": 0.45, "tp": 0.09}
W3 = {"ph": 7.0, "do": 4.2, "codmn": 5.5, "cod": 25, "bod5": 4.5, "nh3n": 1.2, "tp": 0.25}


def test_w1() -> None:
    verdict = sample_class(W1, "river", ED)
    assert (verdict.water_class, verdict.label, verdict.grade) == (1, "I", "优")
    assert set(verdict.by_parameter.values()) == {1} and set(verdict.controlling) == set(W1)
    assert verdict.edition == "gb3838-2002"


def test_w2_tn_shown_but_excluded_for_rivers() -> None:
    verdict = sample_class({**W2, "tn": 1.8}, "river", ED)
    assert verdict.by_parameter == {
        "ph": 1, "do": 2, "codmn": 2, "cod": 3, "bod5": 1, "nh3n": 2, "tp": 2, "tn": 5,
    }  # fmt: skip
    assert (verdict.water_class, verdict.label, verdict.grade) == (3, "III", "良好")
    assert verdict.controlling == ("cod",) and verdict.excluded == ("tn",)
    assert sample_class({**W2, "tn": 1.8}, "lake", ED).water_class == 5  # TN counts for lakes


def test_w3_fecal_coliform_reference_only() -> None:
    verdict = sample_class({**W3, "fecal_coliform": 30000}, "river", ED)
    assert (verdict.water_class, verdict.label, verdict.grade) == (4, "IV", "轻度污染")
    assert set(verdict.controlling) == {"do", "cod", "bod5", "nh3n", "tp"}
    assert verdict.by_parameter["fecal_coliform"] == 5 and verdict.excluded == ("fecal_coliform",)


def test_worse_than_v() -> None:
    verdict = sample_class({"nh3n": 2.01, "do": 1.9}, "river", ED)
    assert (verdict.water_class, verdict.label, verdict.grade) == (6, "劣V", "重度污染")


def test_lake_tp_limits() -> None:
    assert sample_class({"tp": 0.05}, "lake", ED).water_class == 3
    assert sample_class({"tp": 0.05}, "river", ED).water_class == 2


def test_period_class_is_the_class_of_the_means() -> None:
    samples = [{"tp": 0.07, "cod": 40}, {"tp": 0.08, "cod": None}, {"tp": 0.45}]
    verdict = period_class(samples, "river", ED)
    assert (0.07 + 0.08 + 0.45) / 3 > 0.2  # a float mean would put TP in Class IV
    assert verdict.by_parameter == {"tp": 3, "cod": 5}
    assert period_class([{"cod": 10}, {"cod": 30}], "river", ED).water_class == 3  # not IV


def test_exceeding_class_iii_with_multiples() -> None:
    found = {e.parameter: e for e in exceeding({**W3, "fecal_coliform": 30000}, 3, "river", ED)}
    assert set(found) == {"do", "cod", "bod5", "nh3n", "tp"}
    assert found["cod"].multiple == Fraction(1, 4) and found["cod"].limit == 20
    assert found["nh3n"].multiple == Fraction(1, 5) and found["tp"].multiple == Fraction(1, 4)
    assert found["do"].multiple is None and found["do"].shortfall == Fraction(4, 5)


def test_exceeding_other_target_and_ph() -> None:
    found = {e.parameter: e for e in exceeding({"ph": 9.5, "cod": 16}, 2, "river", ED)}
    assert found["ph"].limit is None and found["ph"].multiple is None
    assert found["cod"].multiple == Fraction(1, 15)
    assert exceeding(W2, 3, "river", ED) == ()


@pytest.mark.parametrize(
    "values",
    [{"xyz": 1}, {"cod": -1}, {"ph": 15}, {"cod": "high"}, {"tn": 1.0}, {}],
)
def test_bad_samples_are_refused(values: dict) -> None:
    with pytest.raises(ReadingError):
        sample_class(values, "river", ED)


def test_target_class_must_be_1_to_5() -> None:
    with pytest.raises(ReadingError):
        exceeding(W1, 6, "river", ED)


sample = st.dictionaries(
    st.sampled_from(sorted(RIVER_21 | {"tn", "fecal_coliform"})),
    st.decimals(min_value=0, max_value=14, places=5),
    min_size=1,
).filter(lambda d: bool(set(d) & RIVER_21))


@given(values=sample, body=st.sampled_from(["river", "lake"]))
def test_sample_class_never_better_than_any_evaluated_parameter(values: dict, body: str) -> None:
    verdict = sample_class(values, body, ED)  # type: ignore[arg-type]
    counted = [p for p in values if p in evaluated(body, ED)]  # type: ignore[arg-type]
    assert all(verdict.water_class >= verdict.by_parameter[p] for p in counted)
    assert verdict.water_class == max(verdict.by_parameter[p] for p in counted)
