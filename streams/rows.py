"""Readings to rows of the ``readings`` table: one row per measured parameter."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from schemas.feed import Reading
from schemas.feeds import FEEDS
from schemas.feeds.air import AirReading
from schemas.feeds.energy import EnergyReading

Row = tuple[datetime, str, str, str, float, datetime | None]


@cache
def _fields(feed: str) -> tuple[tuple[str, str], ...]:
    return tuple((q.attr, q.wire) for q in FEEDS[feed].quantities)


def rows_of(feed: str, reading: Reading) -> list[Row]:
    """Air parameters carry their averaging period (``pm25_1h``), as the AQI keys do."""
    site = reading.site()
    if isinstance(reading, EnergyReading):
        ts, ts_end = reading.period_start, reading.period_end
    else:
        ts, ts_end = reading.ts, None
    suffix = f"_{reading.period}" if isinstance(reading, AirReading) else ""
    rows: list[Row] = []
    for attr, name in _fields(feed):
        value = getattr(reading, attr)
        if value is not None:
            rows.append((ts, feed, site, name + suffix, value, ts_end))
    return rows
