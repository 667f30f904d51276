"""Energy intensity of each county and of the city over the year so far. Pure.

Consumption is what the key energy-using units metered, converted to tonnes of standard coal
by GB/T 2589 (the edition in force at each period's end), summed by county; GDP is the
register's county figure for the year (10,000 yuan at the plan's constant prices). A year in
progress is set against the share of the year's GDP its metered periods cover, up to the end
of the newest one, so March's intensity compares with a whole year's. Only the key units are
metered, so the figures are the intensity of their consumption, below a county's total.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from alerts.assessment.scope import CITY
from alerts.feeds.energy import CARRIERS
from alerts.standards import energy
from alerts.standards.editions import CST, NoEditionError, in_force


@dataclass(frozen=True, slots=True)
class Metered:
    """One stored period of one unit: its valid amounts, by carrier (None: not valid)."""

    unit: str
    ends: datetime
    amounts: tuple[float | None, ...]  # in CARRIERS order


@dataclass
class EnergyYear:
    """Each unit's tonnes of coal equivalent so far in the year, and the newest period's end."""

    tce: dict[str, float] = field(default_factory=dict)
    until: datetime | None = None


def energy_year(periods: Iterable[Metered]) -> EnergyYear:
    year = EnergyYear()
    for period in periods:
        amounts = {c: a for c, a in zip(CARRIERS, period.amounts, strict=True) if a is not None}
        if not amounts:
            continue
        try:
            edition = in_force("energy", period.ends)
        except NoEditionError:
            continue
        converted = energy.convert(amounts, edition=edition).tce
        year.tce[period.unit] = year.tce.get(period.unit, 0.0) + converted
        if year.until is None or period.ends > year.until:
            year.until = period.ends
    return year


def year_share(year: int, until: datetime) -> float:
    """The share of the year up to ``until`` (local time), at most 1."""
    start, end = datetime(year, 1, 1, tzinfo=CST), datetime(year + 1, 1, 1, tzinfo=CST)
    return min(max((until - start) / (end - start), 0.0), 1.0)


def intensities(
    year: int, metered: EnergyYear, county_of: Mapping[str, str], gdp: Mapping[str, float]
) -> dict[str, float]:
    """tce per 10,000 yuan of each county with metered units, and of the city (``CITY``)."""
    if metered.until is None or not metered.tce:
        return {}
    share = year_share(year, metered.until)
    if share <= 0:
        return {}
    by_county: dict[str, float] = {}
    for unit, tce in metered.tce.items():
        county = county_of.get(unit)
        if county is not None:
            by_county[county] = by_county.get(county, 0.0) + tce
    out = {
        county: energy.intensity(tce, gdp[county] * share)
        for county, tce in by_county.items()
        if gdp.get(county)
    }
    total_gdp = sum(gdp.values())
    if by_county and total_gdp > 0:
        out[CITY] = energy.intensity(sum(by_county.values()), total_gdp * share)
    return out
