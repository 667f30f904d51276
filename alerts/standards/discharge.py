"""A wastewater plant's effluent against GB 18918-2002 Table 1: which items exceed its grade.

Table 1's limits are daily means, so this takes a plant's daily values. NH3-N has a higher
limit when the water is cold (at or below 12 °C) and TP a higher one for plants built before
2006-01-01; both come from the edition's data file, never from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction

from alerts.standards import Number, ReadingError, exact, water_value
from alerts.standards.editions import Edition, resolve

FAMILY = "discharge"
_LEVEL_ZH = {"1": "一级", "2": "二级", "3": "三级"}  # the standard's grade levels, as named


@dataclass(frozen=True)
class ItemExcess:
    parameter: str
    value: Fraction
    limit: Fraction | tuple[Fraction, Fraction]  # a range for pH
    excess: Fraction  # how far past the limit, in the item's unit (for pH, outside the range)
    multiple: Fraction | None  # (value - limit) / limit; None for pH


@dataclass(frozen=True)
class DischargeVerdict:
    required: str  # the plant's grade
    meets_required: bool
    grade_met: str | None  # the strictest grade every given item meets, or None
    exceeding: tuple[ItemExcess, ...]  # items over the required grade's limits
    limits: Mapping[str, Fraction | tuple[Fraction, Fraction]]  # of the required grade
    edition: str


def items(ed: Edition) -> tuple[str, ...]:
    """The items the edition's table limits, in its order."""
    return tuple(item for item, rule in ed.data.items() if isinstance(rule, Mapping))


def grade_number(grades: Sequence[str], grade: str | None) -> int:
    """A grade as a number: 1 for the strictest, one past the loosest for none (a plant's
    grade as the judgement exports it, comparable with its required grade)."""
    return len(grades) + 1 if grade is None else list(grades).index(grade) + 1


def grade_labels(ed: Edition) -> tuple[str, ...]:
    """The Chinese names of the grade numbers: 一级A, 一级B, then 劣于一级B for none."""
    names = [_LEVEL_ZH[grade[:-1]] + grade[-1] for grade in ed.data["grades"]]
    return (*names, f"劣于{names[-1]}")


def grade_limits(
    ed: Edition, grade: str, water_temp: Fraction | None, built: date
) -> dict[str, Fraction | tuple[Fraction, Fraction]]:
    """Every item's limit for one grade, for this water temperature and build date."""
    grades = list(ed.data["grades"])
    if grade not in grades:
        raise ReadingError(f"unknown grade {grade!r}; expected one of {', '.join(grades)}")
    at = grades.index(grade)
    limits: dict[str, Fraction | tuple[Fraction, Fraction]] = {}
    for item in items(ed):
        rule = ed.data[item]
        if "range" in rule:
            low, high = rule["range"]
            limits[item] = (Fraction(low), Fraction(high))
            continue
        row = rule["max"]
        cold_at = rule.get("cold_at_or_below_c")
        if cold_at is not None and water_temp is not None and water_temp <= Fraction(cold_at):
            row = rule["cold"]
        if "cutoff" in rule and built < rule["cutoff"]:
            row = rule["built_before"]
        limits[item] = Fraction(row[at])
    return limits


def judge_discharge(
    daily: Mapping[str, Number],
    *,
    water_temp: Number | None,
    built: date,
    required: str,
    edition: Edition | str | None = None,
    at: datetime | date | None = None,
) -> DischargeVerdict:
    """A plant's daily values (wire names: cod, bod5, ss, tn, nh3n, tp, ph, fecal_coliform)."""
    ed = resolve(FAMILY, edition, at)
    temp = None if water_temp is None else exact("temp", water_temp)
    values = {item: water_value(item, raw) for item, raw in daily.items()}
    by_grade = {g: grade_limits(ed, g, temp, built) for g in ed.data["grades"]}
    if required not in by_grade:
        raise ReadingError(f"unknown grade {required!r}; expected one of {', '.join(by_grade)}")
    unknown = sorted(set(values) - set(by_grade[required]))
    if unknown:
        raise ReadingError(f"not a GB 18918 Table 1 item: {', '.join(unknown)}")
    exceeding = tuple(
        excess
        for item, value in values.items()
        if (excess := _excess(item, value, by_grade[required][item])) is not None
    )
    met = [
        grade
        for grade, limits in by_grade.items()
        if all(_excess(item, value, limits[item]) is None for item, value in values.items())
    ]
    return DischargeVerdict(
        required=required,
        meets_required=not exceeding,
        grade_met=met[0] if met else None,
        exceeding=exceeding,
        limits=by_grade[required],
        edition=ed.id,
    )


def _excess(
    item: str, value: Fraction, limit: Fraction | tuple[Fraction, Fraction]
) -> ItemExcess | None:
    if isinstance(limit, tuple):
        low, high = limit
        if low <= value <= high:
            return None
        return ItemExcess(item, value, limit, low - value if value < low else value - high, None)
    if value <= limit:
        return None
    return ItemExcess(item, value, limit, value - limit, (value - limit) / limit)
