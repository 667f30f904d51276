"""Readings to rows: a reading's row of its feed table, and its rows in the old layout."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from schemas.feed import Reading
from schemas.feeds import FEEDS
from schemas.feeds.air import AirReading
from schemas.feeds.energy import EnergyReading

Row = tuple[Any, ...]  # in the feed's column order (schemas/tables.py makes its table)
_ROW = {name: feed.row_of() for name, feed in FEEDS.items()}


def row_of(feed: str, reading: Reading) -> Row:
    """The reading's row of ``<feed>_readings``: one row per reading, flags as given."""
    return _ROW[feed](reading)


ParameterRow = tuple[datetime, str, str, str, float, datetime | None]


@cache
def _fields(feed: str) -> tuple[tuple[str, str], ...]:
    return tuple((q.attr, q.wire) for q in FEEDS[feed].quantities)


def rows_of(feed: str, reading: Reading) -> list[ParameterRow]:
    """A reading as one (ts, feed, site, parameter, value, ts_end) per measured parameter: the
    rows of the old ``readings`` table (migration 009 moves them; the tests and the storage
    benchmark write them). Air parameters carry their averaging period (``pm25_1h``)."""
    site = reading.site()
    if isinstance(reading, EnergyReading):
        ts, ts_end = reading.period_start, reading.period_end
    else:
        ts, ts_end = reading.ts, None
    suffix = f"_{reading.period}" if isinstance(reading, AirReading) else ""
    rows: list[ParameterRow] = []
    for attr, name in _fields(feed):
        value = getattr(reading, attr)
        if value is not None:
            rows.append((ts, feed, site, name + suffix, value, ts_end))
    return rows
