"""One basis's year as storage holds it, and the plan targets' figures assessed from it. Pure.

The real-time year is kept current between reads by the stations' daily summaries; the audited
one changes only when storage is read again. Figures are keyed by target and scope (``city``,
or a county code for a county's energy intensity). Ratios are fractions, as Prometheus has
them; the alert checks of the section shares carry percentages, since people read them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any, TypeVar, cast

from alerts.assessment.air import (
    DayMeans,
    Days,
    PeriodMean,
    city_aqi,
    period_means,
    periods,
    pooled,
)
from alerts.assessment.energy import EnergyYear, intensities
from alerts.assessment.scope import CITY
from alerts.assessment.wastewater import Plant, PlantDays, PlantGrade, plant_grades
from alerts.assessment.water import (
    PeriodClass,
    Section,
    SectionMonths,
    period_classes,
    year_classes,
)
from alerts.conditions import Check
from alerts.lifecycle import Observation
from alerts.targets import (
    GOOD_DAY_MAX_AQI,
    Status,
    Targets,
    days_left,
    good_day_progress,
    intensity_progress,
    pm25_progress,
    sections_progress,
    share_progress,
)

T = TypeVar("T")
NOT_SET = math.nan  # a value or goal that needs a figure the target file does not give
FigureKey = tuple[str, str]  # (target, scope)
SHARE_TARGETS = {
    "overall": "water_class3_ratio",
    "county_boundary": "county_boundary_class3_ratio",
    "provincial": "provincial_section_class3_ratio",
}


@dataclass(frozen=True, slots=True)
class Figure:
    value: float  # NaN: not computable as configured (no PM2.5 baseline)
    goal: float  # NaN: the plan's figure is not configured (the intensity reduction)
    status: Status | None  # None: there is no goal to judge it by


@dataclass
class Year:
    """What storage holds of one year on one basis.

    What is derived from it is remembered (``memo``) until the part it comes from changes: a
    station's summary changes its day, that day's month and the year; the rest changes only
    with the next read, which makes a new ``Year``."""

    year: int
    newest: date | None = None  # the newest day of any stored reading of the year
    air: Days = field(default_factory=dict)
    sections: SectionMonths = field(default_factory=dict)
    energy: EnergyYear = field(default_factory=EnergyYear)
    plants: PlantDays | None = None  # None: the wastewater feed is not registered
    derived: dict[Hashable, Any] = field(default_factory=dict, repr=False, compare=False)

    def add_air_day(self, day: date, station: str, means: Mapping[str, float]) -> bool:
        """A station's closed day, from its summary; False when the day is of another year."""
        if day.year != self.year:
            return False
        self.air.setdefault(day.isoformat(), {})[station] = dict(means)
        self.forget(("city", day.isoformat()), ("month", day.month), ("year",))
        return True

    def replace_air(self, station: str, days: set[str], found: Days) -> None:
        """A station's days as storage now holds them (``found``: its valid figures)."""
        for day in days:
            held = self.air.get(day, {})
            held.pop(station, None)
            means = found.get(day, {}).get(station)
            if means:
                self.air.setdefault(day, held)[station] = means
            elif not held:
                self.air.pop(day, None)
            self.forget(("city", day), ("month", int(day[5:7])), ("year",))

    def forget(self, *keys: Hashable) -> None:
        """Derived results whose data were read again."""
        for key in keys:
            self.derived.pop(key, None)

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        if key not in self.derived:
            self.derived[key] = compute()
        return cast(T, self.derived[key])

    def as_of(self) -> date:
        """The day the year is counted through: the newest day with a station's valid daily
        figures, else the newest day with any reading, else the year's first day."""
        if self.air:
            return date.fromisoformat(max(self.air))
        return self.newest or date(self.year, 1, 1)


@dataclass(frozen=True)
class Register:
    """What the assessment needs of the city's register."""

    sections: Mapping[str, Section]
    unit_county: Mapping[str, str]  # energy unit -> county code
    gdp: Mapping[str, float]  # county code -> GDP, 10,000 yuan
    plants: Mapping[str, Plant]


@dataclass(frozen=True)
class Assessed:
    """Everything assessed from one basis's year: the target figures, the checks of the target
    alerts, and the period results kept for analysts."""

    year: int
    as_of: date
    figures: dict[FigureKey, Figure]
    checks: list[Check]
    air_means: list[PeriodMean]
    section_classes: list[PeriodClass]
    plant_grades: list[PlantGrade]


def assess(year: Year, register: Register, targets: Targets, budget_warning: int) -> Assessed:
    as_of = year.as_of()
    final = days_left(as_of) == 0
    figures: dict[FigureKey, Figure] = {}
    checks: list[Check] = []
    city = {d: year.memo(("city", d), partial(_city_day, s, d)) for d, s in year.air.items()}
    through = [c for d, c in city.items() if d <= as_of.isoformat()]
    checks += _air(through, as_of, targets, budget_warning, figures)
    classes = year.memo(
        "sections", lambda: period_classes(year.sections, register.sections, year.year)
    )
    checks += _sections(year_classes(classes, register.sections), targets, final, figures)
    for scope, value in intensities(
        year.year, year.energy, register.unit_county, register.gdp
    ).items():
        figures[("energy_intensity", scope)] = _intensity(year.year, value, targets)
    grades: list[PlantGrade] = []
    if year.plants is not None:
        plants = year.plants
        grades = year.memo(
            "plants",
            lambda: plant_grades(plants, register.plants, targets.wastewater_grade, year.year),
        )
        judged = [g for g in grades if g.period == "year"]
        share = share_progress(
            sum(g.meets for g in judged), len(judged), targets.wastewater_share, final=final
        )
        if share.share is not None:
            figures[("wastewater_grade1a_ratio", CITY)] = Figure(
                float(share.share), float(targets.wastewater_share), share.status
            )
    with_city = {d: {**s, CITY: city[d][0]} for d, s in year.air.items()}
    means = [
        mean
        for period, starts in periods(year.air, year.year)
        for mean in year.memo(
            (period, starts.month) if period == "month" else (period,),
            partial(period_means, with_city, period, starts),
        )
    ]
    return Assessed(year.year, as_of, figures, checks, means, classes, grades)


def _city_day(stations: Mapping[str, DayMeans], day: str) -> tuple[DayMeans, int | None]:
    """The city's daily figures and daily AQI."""
    city = pooled(stations)
    return city, city_aqi(city, date.fromisoformat(day))


def _air(
    days: list[tuple[DayMeans, int | None]],
    as_of: date,
    targets: Targets,
    budget_warning: int,
    figures: dict,
) -> list[Check]:
    """The good-day ratio, the bad-day budget (and its check) and the PM2.5 reduction, from
    the city's days through ``as_of``."""
    checks = []
    valid = [a for _, a in days if a is not None]
    if valid:
        good = sum(a <= GOOD_DAY_MAX_AQI for a in valid)
        days_ = good_day_progress(good, len(valid), as_of, targets.good_day_ratio)
        goal = float(targets.good_day_ratio)
        figures[("aqi_good_day_ratio", CITY)] = Figure(good / len(valid), goal, days_.status)
        budget = days_.bad_day_budget
        figures[("bad_day_budget", CITY)] = Figure(budget, budget_warning, days_.status)
        low = budget <= budget_warning
        observed = Observation(breach=low, clear=not low, value=budget, limit=budget_warning)
        checks.append(Check("target_bad_day_budget", CITY, observed, False))
    reduction = float(targets.pm25_reduction)
    if targets.pm25_baseline is None:
        figures[("pm25_reduction", CITY)] = Figure(NOT_SET, reduction, None)
    else:
        pm25 = [m["pm25_24h"] for m, _ in days if "pm25_24h" in m]
        if pm25:
            progress = pm25_progress(pm25, as_of, targets)
            assert progress.reduction is not None
            figures[("pm25_reduction", CITY)] = Figure(
                float(progress.reduction), reduction, progress.status
            )
    return checks


def _sections(classes: list, targets: Targets, final: bool, figures: dict) -> list[Check]:
    """The shares at Class III or better (and their checks) and the Class V count."""
    if not classes:
        return []
    checks = []
    result = sections_progress(classes, targets, final)
    for level, share in {"overall": result.overall, **result.by_level}.items():
        if share.share is None or share.target is None or share.status is None:
            continue
        value, goal = float(share.share), float(share.target)
        target = SHARE_TARGETS.get(level, f"{level}_class3_ratio")
        figures[(target, CITY)] = Figure(value, goal, share.status)
        short = share.status != "met"
        observed = Observation(breach=short, clear=not short, value=100 * value, limit=100 * goal)
        checks.append(Check("target_class3_share", level, observed, False))
    figures[("class5_sections", CITY)] = Figure(
        len(result.class5_or_worse), targets.class5_max, result.class5_status
    )
    return checks


def _intensity(year: int, value: float, targets: Targets) -> Figure:
    if targets.intensity_reduction is None:
        return Figure(value, NOT_SET, None)
    progress = intensity_progress(year, value, targets)
    return Figure(float(progress.intensity), float(progress.path), progress.status)
