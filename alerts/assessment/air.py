"""A year's air as the assessment reads it: each station's valid daily figures, the city's,
and the monthly and annual means with their GB 3095 validity rules. Pure.

A station's day is closed from its stored hourly values by the function that closes it in the
live judgement (:func:`alerts.feeds.air.daily_means`), so a day read from storage and the day a
station's summary reported are the same figures. The city's daily figure is the mean of its
stations' valid daily figures; its daily AQI is the AQI of those means.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from alerts.assessment.scope import Period
from alerts.feeds.air import DAY, HOUR, OFFSET, POLLUTANTS, Kept, daily_means
from alerts.standards import ReadingError, aqi, thousandths
from alerts.standards.air_limits import Mean, annual_mean, monthly_mean, required_days
from alerts.standards.editions import CST, Edition, NoEditionError, in_force

DayMeans = dict[str, float]  # a day's valid figures: {p}_24h, o3_8h (daily max), o3_1h (max)
Days = dict[str, dict[str, DayMeans]]  # ISO day -> station -> its valid daily figures
Hour = tuple[str, float, tuple[float | None, ...]]  # station, end of the hour (s), POLLUTANTS


@dataclass(frozen=True, slots=True)
class PeriodMean:
    """A station's (or the city's) mean of one pollutant over a month or a year so far."""

    site: str
    period: Period
    starts: date
    pollutant: str
    mean: float | None  # of the valid daily means so far; None without any
    days: int  # valid daily means behind it
    required: int  # valid days the period needs (27, 25 in February; 324 in a year)
    valid: bool  # the mean meets the validity rule (a month or year in progress may not yet)
    edition: str


def station_days(hours: Iterable[Hour]) -> Days:
    """Every station-day of the hourly values given (valid values only, None for the rest),
    closed into its valid daily figures; days without any are left out."""
    collected: dict[tuple[str, int], dict[str, list[Kept | None]]] = {}
    for site, stamp, values in hours:
        start = stamp - HOUR + OFFSET  # the hour ending at midnight is the day before's
        local, slot = int(start // DAY), int(start // HOUR) % 24
        today = collected.setdefault((site, local), {})
        for pollutant, value in zip(POLLUTANTS, values, strict=True):
            if value is None:
                continue
            slots = today.get(pollutant)
            if slots is None:
                slots = today[pollutant] = [None] * 24
            kept = thousandths(value)
            slots[slot] = value if kept is None else kept
    days: Days = {}
    for (site, local), today in collected.items():
        means = daily_means(today, local)
        if means:
            day = (date(1970, 1, 1) + timedelta(days=local)).isoformat()
            days.setdefault(day, {})[site] = means
    return days


def pooled(stations: Mapping[str, Mapping[str, float]]) -> DayMeans:
    """The city's daily figures: the mean of each figure over the stations that have it."""
    found: dict[str, list[float]] = {}
    for means in stations.values():
        for figure, value in means.items():
            found.setdefault(figure, []).append(value)
    return {figure: math.fsum(values) / len(values) for figure, values in found.items()}


def city_aqi(city: Mapping[str, float], day: date) -> int | None:
    """Daily AQI of the city's daily figures, by the day's edition; None without PM2.5."""
    if "pm25_24h" not in city:
        return None
    try:
        return aqi.daily_aqi(city, at=datetime(day.year, day.month, day.day, 12, tzinfo=CST)).aqi
    except ReadingError:
        return None


def assessed_pollutants(edition: Edition) -> tuple[str, ...]:
    """The pollutants measured here that the edition gives an annual limit (whose monthly and
    annual means its validity rules cover)."""
    limits = edition.data["limits"]
    return tuple(p for p in POLLUTANTS if "annual" in limits.get(p, {}))


def periods(days: Iterable[str], year: int) -> list[tuple[Period, date]]:
    """The periods of a year assessed so far: every month up to the newest with data, and the
    year."""
    newest = max((d for d in days if d.startswith(f"{year:04d}-")), default=None)
    if newest is None:
        return []
    months = range(1, date.fromisoformat(newest).month + 1)
    return [*(("month", date(year, m, 1)) for m in months), ("year", date(year, 1, 1))]


def period_means(days: Days, period: Period, starts: date) -> list[PeriodMean]:
    """The mean of every assessed pollutant over one period, for each site the days hold
    (the city among them, under ``CITY``, when the caller put its figures in)."""
    ends = _month_end(starts.year, starts.month) if period == "month" else date(starts.year, 12, 31)
    try:
        edition = in_force("air", ends)
    except NoEditionError:
        return []  # a period no edition covers is not assessed
    first, last = starts.isoformat(), ends.isoformat()
    by_site: dict[str, list[Mapping[str, float]]] = {}
    for day, sites in days.items():
        if first <= day <= last:
            for site, means in sites.items():
                by_site.setdefault(site, []).append(means)
    out = []
    for site, held in sorted(by_site.items()):
        for pollutant in assessed_pollutants(edition):
            figure = f"{pollutant}_24h"
            values = [m[figure] for m in held if figure in m]
            out.append(_period_mean(site, period, starts, pollutant, values, edition))
    return out


def _period_mean(
    site: str, period: Period, starts: date, pollutant: str, values: list[float], ed: Edition
) -> PeriodMean:
    month = starts.month if period == "month" else None
    result = annual_mean(values, ed) if month is None else monthly_mean(values, month, ed)
    valid = isinstance(result, Mean)
    if isinstance(result, Mean):
        mean: float | None = float(result.value)
    else:  # not valid (yet): the mean of the days there are, for the figures so far
        mean = math.fsum(values) / len(values) if values else None
    required = required_days(month, ed)
    return PeriodMean(site, period, starts, pollutant, mean, len(values), required, valid, ed.id)


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)
