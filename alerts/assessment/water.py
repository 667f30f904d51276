"""Sections classed over a period by the national method (环办〔2011〕22号): the arithmetic mean
of each indicator over the period's samples, classed by single factor. Pure.

Storage hands over, per section and month, each item's sum of valid values and their count;
a month's class comes from the month's means, the year's from the means over all the year's
samples (the sums of its months), never from the worst or the latest sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from alerts.assessment.scope import Period
from alerts.standards import ReadingError
from alerts.standards.editions import NoEditionError, in_force
from alerts.standards.water_class import Waterbody, sample_class
from alerts.targets import SectionClass

Sums = dict[str, tuple[Decimal, int]]  # item (wire name) -> (sum of its valid values, count)
SectionMonths = dict[str, dict[int, Sums]]  # section -> month 1..12 -> sums


@dataclass(frozen=True, slots=True)
class PeriodClass:
    site: str
    period: Period
    starts: date
    water_class: int  # 1..6, 6 worse than Class V
    controlling: tuple[str, ...]  # the indicators at that class
    samples: int  # the most samples behind any one indicator's mean
    edition: str


class Section(Protocol):
    """What the method needs of a registered section (the register's rows have it)."""

    waterbody: Waterbody
    control_level: str


def added(sums: Iterable[Sums]) -> Sums:
    """The sums of several periods as one."""
    total: dict[str, tuple[Decimal, int]] = {}
    for one in sums:
        for item, (s, n) in one.items():
            was = total.get(item, (Decimal(0), 0))
            total[item] = (was[0] + s, was[1] + n)
    return total


def period_classes(
    months: SectionMonths, sections: Mapping[str, Section], year: int
) -> list[PeriodClass]:
    """Each registered section's class for every month it has samples in, and for the year
    so far."""
    out = []
    for site, by_month in sorted(months.items()):
        section = sections.get(site)
        if section is None:
            continue
        periods: list[tuple[Period, date, Sums]] = [
            ("month", date(year, m, 1), sums) for m, sums in sorted(by_month.items())
        ]
        periods.append(("year", date(year, 1, 1), added(by_month.values())))
        for period, starts, sums in periods:
            found = _classed(site, period, starts, sums, section.waterbody)
            if found is not None:
                out.append(found)
    return out


def _classed(
    site: str, period: Period, starts: date, sums: Sums, waterbody: Waterbody
) -> PeriodClass | None:
    try:
        edition = in_force("water", starts)
    except NoEditionError:
        return None
    known = {k for k, v in edition.data.items() if isinstance(v, Mapping) and k != "evaluation"}
    means = {item: Fraction(s) / n for item, (s, n) in sums.items() if n and item in known}
    try:
        verdict = sample_class(means, waterbody, edition)
    except ReadingError:  # no indicator that decides the class was measured
        return None
    samples = max(n for item, (_, n) in sums.items() if item in means)
    return PeriodClass(
        site, period, starts, verdict.water_class, verdict.controlling, samples, edition.id
    )


def year_classes(
    classes: Iterable[PeriodClass], sections: Mapping[str, Section]
) -> list[SectionClass]:
    """The year's classes, with each section's control level, as the target shares take them."""
    return [
        SectionClass(c.site, sections[c.site].control_level, c.water_class)
        for c in classes
        if c.period == "year"
    ]
