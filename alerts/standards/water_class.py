"""Surface-water class per GB 3838-2002 and the national single-factor method (环办〔2011〕22号).

A sample's class is the worst class of the indicators the method evaluates (21 for rivers, plus
TN for lakes and reservoirs); other items given are classed for reference only. Over a period the
class comes from the arithmetic mean of each indicator, never from the worst sample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Literal

from alerts.standards import Number, ReadingError, water_value
from alerts.standards.editions import Edition, resolve

Waterbody = Literal["river", "lake"]  # "lake" covers reservoirs
WORSE_THAN_V = 6
LABELS = ("I", "II", "III", "IV", "V", "劣V")
GRADES = ("优", "优", "良好", "轻度污染", "中度污染", "重度污染")


@dataclass(frozen=True)
class WaterVerdict:
    water_class: int  # 1..6, 6 = worse than Class V
    label: str
    grade: str
    by_parameter: Mapping[str, int]  # every item given, evaluated or not
    controlling: tuple[str, ...]  # evaluated items at the sample's class
    excluded: tuple[str, ...]  # given but not evaluated for this water body
    waterbody: str
    edition: str


@dataclass(frozen=True)
class Exceedance:
    parameter: str
    value: Fraction
    water_class: int
    limit: Fraction | None  # the target class's limit; None for pH (range 6-9)
    multiple: Fraction | None  # (C - limit) / limit; None for pH and DO
    shortfall: Fraction | None  # DO only: mg/L below the limit


def _rule(param: str, waterbody: Waterbody, ed: Edition) -> tuple[str, list[Fraction]]:
    row = ed.data.get(param)
    if param == "evaluation" or not isinstance(row, Mapping):
        raise ReadingError(f"unknown water parameter {param!r}")
    if waterbody == "lake" and "lake" in row:
        return "max", [Fraction(v) for v in row["lake"]]
    ((direction, limits),) = ((k, v) for k, v in row.items() if k != "lake")
    return direction, [Fraction(v) for v in limits]


def parameter_class(
    param: str, value: Number, waterbody: Waterbody = "river", edition: Edition | str | None = None
) -> int:
    """The best class whose limit the value meets (inclusive; DO >=; pH within 6-9), else 6."""
    ed = resolve("water", edition, None)
    direction, limits = _rule(param, waterbody, ed)
    v = water_value(param, value)
    if direction == "range":
        return 1 if limits[0] <= v <= limits[1] else WORSE_THAN_V
    meets = (v >= lim if direction == "min" else v <= lim for lim in limits)
    return next((n for n, ok in enumerate(meets, start=1) if ok), WORSE_THAN_V)


def evaluated(waterbody: Waterbody, edition: Edition | str | None = None) -> tuple[str, ...]:
    """The indicators that decide the class for this kind of water body."""
    rules = resolve("water", edition, None).data["evaluation"]
    return tuple(rules["river"]) + (tuple(rules["lake_extra"]) if waterbody == "lake" else ())


def sample_class(
    values: Mapping[str, Number],
    waterbody: Waterbody = "river",
    edition: Edition | str | None = None,
    at: datetime | None = None,
) -> WaterVerdict:
    """Single-factor class of one sample (or of period means)."""
    ed = resolve("water", edition, at)
    by_param = {p: parameter_class(p, v, waterbody, ed) for p, v in values.items()}
    counted = [p for p in evaluated(waterbody, ed) if p in by_param]
    if not counted:
        raise ReadingError(f"no parameter that decides the class of a {waterbody} was given")
    worst = max(by_param[p] for p in counted)
    return WaterVerdict(
        water_class=worst,
        label=LABELS[worst - 1],
        grade=GRADES[worst - 1],
        by_parameter=by_param,
        controlling=tuple(p for p in counted if by_param[p] == worst),
        excluded=tuple(p for p in by_param if p not in counted),
        waterbody=waterbody,
        edition=ed.id,
    )


def period_means(samples: Sequence[Mapping[str, Number | None]]) -> dict[str, Fraction]:
    """Exact arithmetic mean of each parameter over the samples that have a value for it."""
    seen: dict[str, list[Fraction]] = {}
    for sample in samples:
        for param, raw in sample.items():
            if raw is not None:
                seen.setdefault(param, []).append(water_value(param, raw))
    return {p: sum(vs, Fraction(0)) / len(vs) for p, vs in seen.items()}


def period_class(
    samples: Sequence[Mapping[str, Number | None]],
    waterbody: Waterbody = "river",
    edition: Edition | str | None = None,
    at: datetime | None = None,
) -> WaterVerdict:
    """Class of a section over a period: single-factor class of the per-parameter means."""
    return sample_class(period_means(samples), waterbody, edition, at)


def exceeding(
    values: Mapping[str, Number],
    target_class: int = 3,
    waterbody: Waterbody = "river",
    edition: Edition | str | None = None,
    at: datetime | None = None,
) -> tuple[Exceedance, ...]:
    """Evaluated parameters worse than ``target_class``, with their multiple of its limit."""
    if not 1 <= target_class <= 5:
        raise ReadingError(f"target class must be 1..5, not {target_class}")
    ed = resolve("water", edition, at)
    verdict = sample_class(values, waterbody, ed)
    found = []
    for param in evaluated(waterbody, ed):
        if param not in values or verdict.by_parameter[param] <= target_class:
            continue
        direction, limits = _rule(param, waterbody, ed)
        value = water_value(param, values[param])
        limit = None if direction == "range" else limits[target_class - 1]
        multiple = (value - limit) / limit if direction == "max" and limit else None
        shortfall = limit - value if direction == "min" and limit is not None else None
        found.append(
            Exceedance(param, value, verdict.by_parameter[param], limit, multiple, shortfall)
        )
    return tuple(found)
