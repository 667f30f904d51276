"""Urban wastewater plants judged over a period against a GB 18918 grade, as the sections are:
from the period's mean of each item. Pure.

Table 1's limits are daily means, so a plant's period mean of an item is the mean of its daily
means (each the mean of that day's valid values); the water temperature that selects the cold
NH3-N limit is the period's mean temperature, and the build date selects the TP limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Protocol

from alerts.assessment.scope import Period
from alerts.assessment.water import Sums
from alerts.standards.discharge import FAMILY, judge_discharge
from alerts.standards.editions import NoEditionError, in_force

TEMPERATURE = "temp"  # the item whose mean picks the cold limits; judged by none
PlantDays = dict[str, dict[str, Sums]]  # plant -> ISO day -> that day's sums


class Plant(Protocol):
    built: date


@dataclass(frozen=True, slots=True)
class PlantGrade:
    site: str
    period: Period
    starts: date
    grade: str  # the grade judged against
    meets: bool
    grade_met: str | None  # the strictest grade every item's mean meets
    exceeding: tuple[str, ...]  # items whose mean is over the grade's limit
    days: int  # days with a value behind the means
    edition: str


def plant_grades(
    days: PlantDays, plants: Mapping[str, Plant], grade: str, year: int
) -> list[PlantGrade]:
    """Each registered plant's verdict for every month it has days in, and for the year."""
    out = []
    for site, by_day in sorted(days.items()):
        plant = plants.get(site)
        if plant is None:
            continue
        months: dict[int, dict[str, Sums]] = {}
        for day, sums in by_day.items():
            months.setdefault(int(day[5:7]), {})[day] = sums
        periods: list[tuple[Period, date, Mapping[str, Sums]]] = [
            ("month", date(year, m, 1), d) for m, d in sorted(months.items())
        ]
        periods.append(("year", date(year, 1, 1), by_day))
        for period, starts, held in periods:
            found = _graded(site, period, starts, held.values(), plant.built, grade)
            if found is not None:
                out.append(found)
    return out


def _graded(
    site: str, period: Period, starts: date, days: Iterable[Sums], built: date, grade: str
) -> PlantGrade | None:
    try:
        edition = in_force(FAMILY, starts)
    except NoEditionError:
        return None
    daily: dict[str, list[Fraction]] = {}
    counted = 0
    for sums in days:
        counted += 1
        for item, (s, n) in sums.items():
            if n:
                daily.setdefault(item, []).append(Fraction(s) / n)
    means = {item: sum(v, Fraction(0)) / len(v) for item, v in daily.items()}
    temp = means.pop(TEMPERATURE, None)
    items = {k: v for k, v in means.items() if isinstance(edition.data.get(k), Mapping)}
    if not items:
        return None
    verdict = judge_discharge(items, water_temp=temp, built=built, required=grade, edition=edition)
    return PlantGrade(
        site,
        period,
        starts,
        grade,
        verdict.meets_required,
        verdict.grade_met,
        tuple(e.parameter for e in verdict.exceeding),
        counted,
        edition.id,
    )
