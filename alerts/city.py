"""The city-wide plan targets: the stations' summaries into the real-time year, and the target
alerts stepped on its checks. Pure.

The years themselves are read from storage (``streams/stored_year.py``) and assessed in
:mod:`alerts.assessment.year`; between reads the stations' daily summaries keep the real-time
year current. What is kept in the city's state table is what storage cannot give back: the
target alerts' lifecycles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import msgspec

from alerts.assessment.scope import CITY
from alerts.assessment.year import Assessed, Year
from alerts.judge import Alerts, Outcome, Timing, key
from alerts.lifecycle import AlertState
from alerts.summaries import AirDay, Revised, Summary

STATUS_CODE = {"met": 0, "at_risk": 1, "missed": 2}
AIR = "air"


class CityState(msgspec.Struct, omit_defaults=True):
    alerts: dict[str, AlertState] = {}


@dataclass
class Reads:
    """What must be read from storage before the next figures: the whole year, or the days of
    stations and the feeds (read whole: they are small) whose stored readings changed."""

    year: bool = False
    air: dict[str, set[str]] = field(default_factory=dict)  # station -> ISO days
    feeds: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return self.year or bool(self.air) or bool(self.feeds)

    def add(self, other: Reads) -> None:
        self.year |= other.year
        self.feeds |= other.feeds
        for station, days in other.air.items():
            self.air.setdefault(station, set()).update(days)


def apply(realtime: Year | None, summaries: Sequence[Summary]) -> Reads:
    """The stations' closed days into the real-time year; returns what storage must give
    again: everything before the first read or when a later year begins, and what audited
    readings replaced (a revision's days of an air station, or the feed).

    A section's latest-sample class is a live figure of its own (``envwatch_water_class``);
    the targets take a section's class over the period from storage."""
    reads = Reads(year=realtime is None)
    for summary in summaries:
        if realtime is None:
            continue
        if isinstance(summary, AirDay):
            day = date.fromisoformat(summary.day)
            if not realtime.add_air_day(day, summary.site, summary.means):
                reads.year |= day.year > realtime.year
        elif isinstance(summary, Revised):
            if summary.feed != AIR:
                reads.feeds.add(summary.feed)
                continue
            days = {d for d in summary.days if date.fromisoformat(d).year == realtime.year}
            if days:
                reads.air.setdefault(summary.site, set()).update(days)
    return reads


def judge(state: CityState, assessed: Assessed) -> Outcome:
    """The target alerts stepped on the real-time checks, as of the year's newest day."""
    out = Outcome()
    alerts = Alerts(state, CITY, CITY, "all", Timing(0, 0), out)
    as_of = assessed.as_of
    at = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    alerts.reading(at, at.timestamp(), "")
    for check in assessed.checks:
        obs = check.observation
        name = key(check.condition, check.parameter)
        alerts.observe(name, obs.breach, obs.clear, obs.value, obs.limit, sustain=False)
    return out
