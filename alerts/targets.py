"""Progress against the plan targets (defaults in ``targets.toml``), as pure functions.

Every result carries a status: ``met`` (on track on the data so far), ``at_risk`` (behind, but the
period is not over and the target is still reachable) or ``missed`` (over, or out of reach).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Literal, NamedTuple

from alerts.standards import Number, exact
from alerts.standards.air_limits import Daily, Invalid, Mean, annual_mean
from alerts.standards.editions import in_force
from alerts.standards.energy import change_rate, round4

Status = Literal["met", "at_risk", "missed"]
DEFAULT_FILE = Path(__file__).with_name("targets.toml")
GOOD_DAY_MAX_AQI = 100


@dataclass(frozen=True)
class Targets:
    good_day_ratio: Fraction
    pm25_reduction: Fraction
    pm25_baseline_year: int  # the year the reduction is measured against (the plan's note)
    pm25_baseline: Fraction | None  # ug/m3; must be configured before PM2.5 progress
    class3_overall: Fraction
    class3_overall_strict: bool
    class3_by_level: Mapping[str, Fraction]
    class5_max: int
    intensity_base_year: int
    intensity_base: Fraction
    intensity_target_year: int
    intensity_reduction: Fraction | None  # set by the province
    wastewater_grade: str  # the GB 18918 grade every urban plant is to meet
    wastewater_share: Fraction  # of the plants meeting it


def parse_targets(text: str) -> Targets:
    raw = tomllib.loads(text)
    pm25, water, energy = raw["pm25"], raw["sections_class3"], raw["energy_intensity"]
    plants = raw["wastewater_grade1a"]
    optional = {"baseline": pm25.get("baseline_ug_m3"), "reduction": energy.get("reduction")}
    return Targets(
        good_day_ratio=exact("good_day_ratio", raw["good_day_ratio"]["target"]),
        pm25_reduction=exact("pm25.reduction", pm25["reduction"]),
        pm25_baseline_year=int(pm25["baseline_year"]),
        pm25_baseline=None if optional["baseline"] is None else exact("pm25", optional["baseline"]),
        class3_overall=exact("sections_class3.overall", water["overall"]),
        class3_overall_strict=bool(water.get("overall_strict", False)),
        class3_by_level={k: exact(k, v) for k, v in water.get("by_level", {}).items()},
        class5_max=int(raw["class5_sections"]["max"]),
        intensity_base_year=int(energy["base_year"]),
        intensity_base=exact("energy_intensity.base", energy["base"]),
        intensity_target_year=int(energy["target_year"]),
        intensity_reduction=(
            None if optional["reduction"] is None else exact("reduction", optional["reduction"])
        ),
        wastewater_grade=str(plants["grade"]),
        wastewater_share=exact("wastewater_grade1a.share", plants["share"]),
    )


def load_targets(path: Path = DEFAULT_FILE) -> Targets:
    """Read a target file; the default is the plan's figures shipped with the package."""
    return parse_targets(path.read_text(encoding="utf-8"))


# --- Good-day ratio ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GoodDayProgress:
    ratio: Fraction | None  # None before any valid day
    target: Fraction
    days_left: int  # days of the year after ``as_of``
    bad_day_budget: int  # more non-good days the year can absorb and still reach the target
    status: Status


def count_days(daily_aqi: Sequence[int | None]) -> tuple[int, int]:
    """(good days, valid days) from daily AQIs; None marks a day without a valid AQI."""
    valid = [a for a in daily_aqi if a is not None]
    return sum(a <= GOOD_DAY_MAX_AQI for a in valid), len(valid)


def days_left(as_of: date) -> int:
    return (date(as_of.year, 12, 31) - as_of).days


def good_day_progress(
    good_days: int, valid_days: int, as_of: date, target: Number = Fraction(85, 100)
) -> GoodDayProgress:
    """Year-to-date good-day ratio, counted through ``as_of`` inclusive.

    The budget assumes every remaining day has valid data: the largest b with
    (good + left - b) / (valid + left) >= target, clamped to 0..left.
    """
    goal = exact("target", target)
    elapsed = as_of.timetuple().tm_yday
    if not 0 <= good_days <= valid_days <= elapsed:
        raise ValueError(f"need 0 <= good ({good_days}) <= valid ({valid_days}) <= {elapsed}")
    left = days_left(as_of)
    slack = good_days + left - goal * (valid_days + left)
    budget = max(0, min(left, math.floor(slack)))
    ratio = Fraction(good_days, valid_days) if valid_days else None
    status: Status = "met" if ratio is None or ratio >= goal else "at_risk"
    if slack < 0 or (ratio is None and left == 0):  # out of reach, or a year without data
        status = "missed"
    return GoodDayProgress(ratio, goal, left, budget, status)


# --- PM2.5 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pm25Progress:
    annual_mean: Mean | Invalid  # by the GB 3095 validity rules (>= 324 days)
    ytd_mean: Fraction | None  # mean of the valid days so far
    target_concentration: Fraction  # baseline x (1 - reduction)
    reduction: Fraction | None  # achieved so far against the baseline
    status: Status
    edition: str


def pm25_progress(daily_means: Sequence[Daily], as_of: date, targets: Targets) -> Pm25Progress:
    """PM2.5 so far against the reduction target; at year end the annual mean must be valid."""
    if targets.pm25_baseline is None:
        raise ValueError("set pm25.baseline_ug_m3 in the target file first")
    edition = in_force("air", as_of)
    annual = annual_mean(daily_means, edition)
    goal = targets.pm25_baseline * (1 - targets.pm25_reduction)
    valid = [
        d.value if isinstance(d, Mean) else exact("pm25", d)
        for d in daily_means
        if d is not None and not isinstance(d, Invalid)
    ]
    ytd_mean = sum(valid, Fraction(0)) / len(valid) if valid else None
    if days_left(as_of) == 0:
        status: Status = "met" if isinstance(annual, Mean) and annual.value <= goal else "missed"
    else:
        status = "met" if ytd_mean is None or ytd_mean <= goal else "at_risk"
    reduction = None if ytd_mean is None else 1 - ytd_mean / targets.pm25_baseline
    return Pm25Progress(annual, ytd_mean, goal, reduction, status, edition.id)


# --- Surface-water sections --------------------------------------------------------------------


class SectionClass(NamedTuple):
    section_id: str
    level: str  # national, provincial, county_boundary, ...
    water_class: int  # 1..6, 6 = worse than Class V


@dataclass(frozen=True)
class ShareProgress:
    share: Fraction | None  # meeting the standard (Class III or better); None without any
    sites: int  # how many were judged (sections, plants)
    target: Fraction | None  # None: no target configured for this level
    status: Status | None  # None when there is no target


@dataclass(frozen=True)
class SectionsProgress:
    overall: ShareProgress
    by_level: Mapping[str, ShareProgress]
    class5_or_worse: tuple[str, ...]  # section ids at Class V or worse
    class5_status: Status


def share_progress(
    meeting: int, total: int, target: Fraction | None, strict: bool = False, final: bool = False
) -> ShareProgress:
    """The share of ``total`` that meets a standard against its target (``strict``: the plan
    writes "greater than"); ``final`` marks the period's result, so a shortfall is missed."""
    share = Fraction(meeting, total) if total else None
    if target is None or share is None:
        return ShareProgress(share, total, target, None)
    ok = share > target if strict else share >= target
    status: Status = "met" if ok else "missed" if final else "at_risk"
    return ShareProgress(share, total, target, status)


def _share(
    classes: Sequence[int], target: Fraction | None, strict: bool, final: bool
) -> ShareProgress:
    return share_progress(sum(c <= 3 for c in classes), len(classes), target, strict, final)


def sections_progress(
    sections: Sequence[SectionClass], targets: Targets, final: bool = False
) -> SectionsProgress:
    """Shares at Class III or better, overall and by control level, and the Class V count.

    ``final`` marks the classes as the period's result, so a shortfall is ``missed``.
    """
    levels = sorted({s.level for s in sections} | set(targets.class3_by_level))
    by_level = {
        level: _share(
            [s.water_class for s in sections if s.level == level],
            targets.class3_by_level.get(level),
            strict=False,
            final=final,
        )
        for level in levels
    }
    overall = _share(
        [s.water_class for s in sections],
        targets.class3_overall,
        targets.class3_overall_strict,
        final,
    )
    worst = tuple(s.section_id for s in sections if s.water_class >= 5)
    ok = len(worst) <= targets.class5_max
    status: Status = "met" if ok else "missed" if final else "at_risk"
    return SectionsProgress(overall, by_level, worst, status)


# --- Energy intensity --------------------------------------------------------------------------


@dataclass(frozen=True)
class IntensityProgress:
    year: int
    intensity: Decimal  # tce per 10,000 yuan, 4 decimals
    path: Decimal  # the target path for the year, 4 decimals
    change_vs_base: float  # fraction, e.g. -0.17
    status: Status


def intensity_path(year: int, targets: Targets) -> Decimal:
    """The intensity the year should reach: the total reduction at an equal annual rate."""
    if targets.intensity_reduction is None:
        raise ValueError("set energy_intensity.reduction in the target file first")
    span = targets.intensity_target_year - targets.intensity_base_year
    elapsed = min(max(year - targets.intensity_base_year, 0), span)
    keep = 1 - targets.intensity_reduction  # decimal power: 0.525 x 0.83 must give 0.4358
    factor = _decimal(keep) ** (Decimal(elapsed) / Decimal(span))
    return round4(_decimal(targets.intensity_base) * factor)


def _decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def intensity_progress(year: int, intensity: Number, targets: Targets) -> IntensityProgress:
    """A year's energy intensity against the target path (both kept to 4 decimals)."""
    actual, path = round4(intensity), intensity_path(year, targets)
    final = year >= targets.intensity_target_year
    status: Status = "met" if actual <= path else "missed" if final else "at_risk"
    change = change_rate(actual, targets.intensity_base)
    return IntensityProgress(year, actual, path, change, status)
