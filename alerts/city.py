"""City-wide progress against the plan targets, kept up to date from site summaries. Pure.

Stations send one summary per closed local day (their valid 24-hour means); sections send
their latest class; wastewater plants the grade each closed day met. The city's daily AQI
is the AQI of the stations' mean concentrations.
A day stays open for late stations until a summary two days newer arrives; then only its
AQI and its PM2.5 mean are kept, so the state of a whole year stays a few kilobytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import msgspec

from alerts.conditions import Check
from alerts.judge import Alerts, Outcome, Timing, key
from alerts.lifecycle import AlertState, Observation
from alerts.standards import ReadingError, aqi
from alerts.standards.editions import CST
from alerts.summaries import AirDay, PlantGrade, Revised, Summary
from alerts.targets import (
    SectionClass,
    Targets,
    good_day_progress,
    plants_progress,
    sections_progress,
)

OPEN_DAYS = 2
STATUS_CODE = {"met": 0, "at_risk": 1, "missed": 2}


class CityState(msgspec.Struct, omit_defaults=True):
    year: int = 0
    open_days: dict[str, dict[str, dict[str, float]]] = {}  # day -> station -> daily means
    closed_aqi: dict[str, int | None] = {}  # day -> city AQI (None: no valid AQI)
    sections: dict[str, tuple[str, int]] = {}  # section -> (control level, class)
    plants: dict[str, int] = {}  # wastewater plant -> grade its last closed day met (1: 1A)
    alerts: dict[str, AlertState] = {}


@dataclass(frozen=True, slots=True)
class Figure:
    value: float
    goal: float
    status: str  # met, at_risk, missed


def add_air_day(state: CityState, day: date, station: str, means: Mapping[str, float]) -> None:
    """A station's daily means; a summary for another year starts the new year afresh."""
    if day.year != state.year:
        if day.year < state.year:
            return
        state.year, state.open_days, state.closed_aqi = day.year, {}, {}
    key = day.isoformat()
    if key in state.closed_aqi:
        return  # too late: the day's AQI is settled
    state.open_days.setdefault(key, {})[station] = dict(means)
    horizon = (day - timedelta(days=OPEN_DAYS)).isoformat()
    for old in [d for d in state.open_days if d <= horizon]:
        state.closed_aqi[old] = city_aqi(state.open_days.pop(old), date.fromisoformat(old))


def add_section_class(state: CityState, section: str, level: str, water_class: int) -> None:
    state.sections[section] = (level, water_class)


def city_aqi(stations: Mapping[str, Mapping[str, float]], day: date) -> int | None:
    """Daily AQI of the mean of the stations' valid daily concentrations, by the day's edition."""
    pooled: dict[str, list[float]] = {}
    for means in stations.values():
        for figure, value in means.items():
            pooled.setdefault(figure, []).append(value)
    if "pm25_24h" not in pooled:
        return None
    try:
        at = datetime(day.year, day.month, day.day, 12, tzinfo=CST)
        return aqi.daily_aqi({k: sum(v) / len(v) for k, v in pooled.items()}, at=at).aqi
    except ReadingError:
        return None


def daily_aqis(state: CityState) -> dict[str, int | None]:
    """Closed days, and the open days as they stand now."""
    return state.closed_aqi | {
        d: city_aqi(s, date.fromisoformat(d)) for d, s in state.open_days.items()
    }


def progress(
    state: CityState, as_of: date, targets: Targets, budget_warning: int
) -> tuple[dict[str, Figure], list[Check]]:
    """Target figures (ratios as fractions, as Prometheus has them) and the target checks.

    The alert checks of the section shares carry percentages: they are read by people.
    """
    figures: dict[str, Figure] = {}
    checks: list[Check] = []
    aqis = [a for d, a in daily_aqis(state).items() if d <= as_of.isoformat()]
    valid = [a for a in aqis if a is not None]
    if valid and as_of.year == state.year:
        good = sum(a <= 100 for a in valid)
        days = good_day_progress(good, len(valid), as_of, targets.good_day_ratio)
        goal = float(targets.good_day_ratio)
        figures["aqi_good_day_ratio"] = Figure(good / len(valid), goal, days.status)
        figures["bad_day_budget"] = Figure(days.bad_day_budget, budget_warning, days.status)
        low = days.bad_day_budget <= budget_warning
        checks.append(
            Check(
                "target_bad_day_budget",
                "city",
                Observation(
                    breach=low, clear=not low, value=days.bad_day_budget, limit=budget_warning
                ),
                False,
            )
        )
    if state.sections:
        classes = [SectionClass(s, lvl, c) for s, (lvl, c) in state.sections.items()]
        result = sections_progress(classes, targets)
        shares = {"overall": result.overall, **result.by_level}
        names = {
            "overall": "water_class3_ratio",
            "county_boundary": "county_boundary_class3_ratio",
            "provincial": "provincial_section_class3_ratio",
        }
        for level, share in shares.items():
            if share.share is None or share.target is None or share.status is None:
                continue
            value, goal = float(share.share), float(share.target)
            figures[names.get(level, f"{level}_class3_ratio")] = Figure(value, goal, share.status)
            value, goal = 100 * value, 100 * goal
            short = share.status != "met"
            checks.append(
                Check(
                    "target_class3_share",
                    level,
                    Observation(breach=short, clear=not short, value=value, limit=goal),
                    False,
                )
            )
        figures["class5_sections"] = Figure(
            len(result.class5_or_worse), targets.class5_max, result.class5_status
        )
    if state.plants:
        plants = plants_progress(list(state.plants.values()), targets)
        if plants.share is not None and plants.target is not None and plants.status:
            goal = float(plants.target)
            figures["plants_grade_1a_ratio"] = Figure(float(plants.share), goal, plants.status)
    return figures, checks


def judge(
    state: CityState, summaries: Sequence[Summary], targets: Targets, budget_warning: int
) -> tuple[CityState, dict[str, Figure], Outcome]:
    """A batch of summaries applied to the city's state: the target figures as they stand,
    and the target alerts' transitions, judged as of the newest day."""
    for summary in summaries:
        if isinstance(summary, AirDay):
            add_air_day(state, date.fromisoformat(summary.day), summary.site, summary.means)
        elif isinstance(summary, PlantGrade):
            state.plants[summary.site] = summary.grade
        elif not isinstance(summary, Revised):  # a revised day needs storage: not read yet
            add_section_class(state, summary.site, summary.level, summary.water_class)
    as_of = as_of_day(state)
    figures, checks = progress(state, as_of, targets, budget_warning)
    out = Outcome()
    alerts = Alerts(state, "city", "city", "all", Timing(0, 0), out)
    at = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    alerts.reading(at, at.timestamp(), "")
    for check in checks:
        obs = check.observation
        name = key(check.condition, check.parameter)
        alerts.observe(name, obs.breach, obs.clear, obs.value, obs.limit, sustain=False)
    return state, figures, out


def as_of_day(state: CityState) -> date:
    """The newest day the city has heard of (today when it has heard of none)."""
    days = list(state.open_days) + list(state.closed_aqi)
    return date.fromisoformat(max(days)) if days else datetime.now(UTC).date()
