"""What a site tells the city-wide targets: typed summaries on the summaries topic.

A station sends one summary per closed local day (its valid daily means), a section one
whenever the class of its latest sample changes, a wastewater plant one per closed local day
(the GB 18918 grade it met), and any site one when audited readings replace stored ones. On
the wire each is a JSON object whose ``kind`` names its type, as before the types existed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import msgspec

from alerts.standards.editions import local_day


class AirDay(msgspec.Struct, tag_field="kind", tag="air_day", kw_only=True):
    site: str
    day: str  # ISO date, China Standard Time
    means: dict[str, float]  # valid daily figures: {p}_24h, o3_8h (daily max), o3_1h (max)


class SectionClass(msgspec.Struct, tag_field="kind", tag="section_class", kw_only=True):
    site: str
    level: str  # control level of the section
    water_class: int = msgspec.field(name="class")  # 1-6, 6 worse than Class V


class Revised(msgspec.Struct, tag_field="kind", tag="revised", kw_only=True):
    """Audited readings replaced stored ones of a site: its days they fall on are assessed
    again from storage."""

    feed: str
    site: str
    days: list[str]  # ISO dates, China Standard Time


def revised(feed: str, site: str, spans: Iterable[tuple[datetime, datetime]]) -> Revised:
    """The summary of a site's readings that audited ones replaced, from their time spans
    (``Reading.span``): every day a span touches, and the day before a span that starts at
    local midnight, since a reading stamped at the end of its period (the hour ending at
    24:00, stamped 00:00) is the day before's in the judgement and the next day's in the
    daily aggregates. A day too many is assessed again to the same result; a day too few
    would keep the replaced figures."""
    days: set[date] = set()
    for first, last in spans:
        day, end = local_day(first - timedelta(microseconds=1)), local_day(last)
        while day <= end:
            days.add(day)
            day += timedelta(days=1)
    return Revised(feed=feed, site=site, days=sorted(d.isoformat() for d in days))


Summary = AirDay | SectionClass | Revised
encode = msgspec.json.Encoder().encode
decode = msgspec.json.Decoder(Summary).decode
