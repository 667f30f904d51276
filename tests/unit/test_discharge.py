"""GB 18918-2002 Table 1, Grades 1A and 1B: every limit, on it and on both sides of it."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from alerts.standards import ReadingError
from alerts.standards.discharge import judge_discharge
from alerts.standards.editions import by_name

NEW, OLD = date(2006, 1, 1), date(2005, 12, 31)  # TP's cutoff: built from 2006-01-01, or before
WARM, COLD = 12.1, 12  # NH3-N's cold limit applies at or below 12 °C
EPS = Fraction(1, 100)

# (item, grade, water temperature, build date, limit) per standards.md section 11.
LIMITS = [
    ("cod", "1A", WARM, NEW, 50), ("cod", "1B", WARM, NEW, 60),
    ("bod5", "1A", WARM, NEW, 10), ("bod5", "1B", WARM, NEW, 20),
    ("ss", "1A", WARM, NEW, 10), ("ss", "1B", WARM, NEW, 20),
    ("tn", "1A", WARM, NEW, 15), ("tn", "1B", WARM, NEW, 20),
    ("nh3n", "1A", WARM, NEW, 5), ("nh3n", "1B", WARM, NEW, 8),
    ("nh3n", "1A", COLD, NEW, 8), ("nh3n", "1B", COLD, NEW, 15),
    ("nh3n", "1A", None, NEW, 5),  # no temperature measured: the ordinary limit
    ("tp", "1A", WARM, NEW, Fraction(1, 2)), ("tp", "1B", WARM, NEW, 1),
    ("tp", "1A", WARM, OLD, 1), ("tp", "1B", WARM, OLD, Fraction(3, 2)),
    ("fecal_coliform", "1A", WARM, NEW, 1000), ("fecal_coliform", "1B", WARM, NEW, 10000),
]  # fmt: skip


def judge(item, value, grade, temp, built):
    return judge_discharge({item: value}, water_temp=temp, built=built, required=grade)


@pytest.mark.parametrize(("item", "grade", "temp", "built", "limit"), LIMITS)
def test_at_the_limit_meets_and_just_above_exceeds(item, grade, temp, built, limit):
    limit = Fraction(limit)
    assert judge(item, limit, grade, temp, built).meets_required
    assert judge(item, limit - EPS, grade, temp, built).meets_required
    verdict = judge(item, limit + EPS, grade, temp, built)
    assert not verdict.meets_required
    (excess,) = verdict.exceeding
    assert (excess.parameter, excess.limit, excess.excess) == (item, limit, EPS)
    assert excess.multiple == EPS / limit


@pytest.mark.parametrize("grade", ["1A", "1B"])
@pytest.mark.parametrize(
    ("value", "meets"), [(6, True), (9, True), (7.5, True), (5.99, False), (9.01, False)]
)
def test_ph_range_is_closed(grade, value, meets):
    verdict = judge("ph", value, grade, WARM, NEW)
    assert verdict.meets_required is meets
    if not meets:
        assert verdict.exceeding[0].excess == Fraction("0.01")
        assert verdict.exceeding[0].multiple is None


def test_float_readings_compare_exactly_at_the_limit():
    assert judge("tp", 0.5, "1A", WARM, NEW).meets_required
    assert not judge("tp", 0.51, "1A", WARM, NEW).meets_required


def plant(values, temp=WARM, built=NEW, required="1A"):
    return judge_discharge(values, water_temp=temp, built=built, required=required)


def test_grade_met_is_the_strictest_every_item_meets():
    clean = {"cod": 30, "bod5": 6, "ss": 8, "tn": 12, "nh3n": 2, "tp": 0.3, "ph": 7.2}
    assert plant(clean).grade_met == "1A"
    assert plant(clean | {"ss": 15}).grade_met == "1B"
    assert plant(clean | {"ss": 15}).meets_required is False
    assert plant(clean | {"ss": 15}, required="1B").meets_required is True
    assert plant(clean | {"cod": 61}).grade_met is None
    # A cold day lets NH3-N 7 pass 1A; an old plant lets TP 0.8 pass 1A.
    assert plant(clean | {"nh3n": 7}).grade_met == "1B"
    assert plant(clean | {"nh3n": 7}, temp=COLD).grade_met == "1A"
    assert plant(clean | {"tp": 0.8}, built=OLD).grade_met == "1A"


def test_several_items_over_are_all_named():
    verdict = plant({"cod": 75, "nh3n": 6, "ph": 7})
    assert [e.parameter for e in verdict.exceeding] == ["cod", "nh3n"]
    assert verdict.exceeding[0].multiple == Fraction(1, 2)
    assert verdict.limits["cod"] == 50 and verdict.edition == "gb18918-2002"


@pytest.mark.parametrize(
    ("values", "kw", "words"),
    [
        ({"do": 5}, {}, "not a GB 18918"),
        ({"cod": -1}, {}, "physical range"),
        ({"ph": 15}, {}, "physical range"),
        ({"cod": "high"}, {}, "not a number"),
        ({"cod": 10}, {"required": "2"}, "unknown grade"),
    ],
)
def test_bad_input_is_refused_with_a_reason(values, kw, words):
    with pytest.raises(ReadingError, match=words):
        plant(values, **kw)


def test_the_edition_records_its_provenance_and_status():
    edition = by_name("discharge", "gb18918-2002")
    assert edition.standard == "GB 18918-2002" and not edition.confirmed
    assert "ryyc.cn" in edition.provenance
