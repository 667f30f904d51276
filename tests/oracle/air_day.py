"""A station's local day of hourly values, closed into its valid daily means. Pure.

An hourly reading's timestamp is the end of its hour, so the hour 23:00-24:00 belongs to the
day it started in. The daily means follow GB 3095's validity rules: a 24-hour mean needs 20
valid hours, the O3 daily maximum 8-hour mean enough valid windows; what is not valid is left
out rather than reported as a number.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.standards import air_limits

CHINA = ZoneInfo("Asia/Shanghai")
POLLUTANTS = ("pm25", "pm10", "so2", "no2", "o3", "co")


def local_slot(end_of_hour: datetime) -> tuple[date, int]:
    start = (end_of_hour - timedelta(hours=1)).astimezone(CHINA)
    return start.date(), start.hour


def daily_means(today: Mapping[str, list[float | None]], day: date) -> dict[str, float]:
    """The valid daily figures of one day: ``{p}_24h``, ``o3_8h`` (daily max), ``o3_1h`` (max)."""
    at = datetime(day.year, day.month, day.day, 12, tzinfo=CHINA)
    means: dict[str, float] = {}
    for pollutant, hours in today.items():
        if pollutant == "o3":
            best = air_limits.daily_max_8h(hours, at=at)
            if isinstance(best, air_limits.Mean):
                means["o3_8h"] = float(best)
            present = [h for h in hours if h is not None]
            if len(present) >= 20:
                means["o3_1h"] = max(present)
            continue
        mean = air_limits.daily_mean(hours, at=at)
        if isinstance(mean, air_limits.Mean):
            means[f"{pollutant}_24h"] = float(mean)
    return means


def record_hour(
    day: str,
    today: dict[str, list[float | None]],
    end_of_hour: datetime,
    values: Mapping[str, float],
) -> tuple[str, dict[str, list[float | None]], tuple[date, dict[str, float]] | None]:
    """Add one hour; returns the (possibly new) day, its hours, and the day just closed."""
    slot_day, hour = local_slot(end_of_hour)
    closed = None
    if day != slot_day.isoformat():
        if day and slot_day.isoformat() > day:
            finished = date.fromisoformat(day)
            closed = (finished, daily_means(today, finished))
        elif day:
            return day, today, None  # an hour of a day already closed: not counted again
        day, today = slot_day.isoformat(), {}
    for pollutant, value in values.items():
        hours = today.get(pollutant) or [None] * 24
        hours[hour] = value
        today[pollutant] = hours
    return day, today, closed
