"""What a site tells the city-wide targets: typed summaries on the summaries topic.

A station sends one summary per closed local day (its valid daily means), a section one
whenever the class of its latest sample changes, a wastewater plant one per closed local day
(the GB 18918 grade it met), and any site one when audited readings replace stored ones. On
the wire each is a JSON object whose ``kind`` names its type, as before the types existed.
"""

from __future__ import annotations

import msgspec


class AirDay(msgspec.Struct, tag_field="kind", tag="air_day", kw_only=True):
    site: str
    day: str  # ISO date, China Standard Time
    means: dict[str, float]  # valid daily figures: {p}_24h, o3_8h (daily max), o3_1h (max)


class SectionClass(msgspec.Struct, tag_field="kind", tag="section_class", kw_only=True):
    site: str
    level: str  # control level of the section
    water_class: int = msgspec.field(name="class")  # 1-6, 6 worse than Class V


class PlantGrade(msgspec.Struct, tag_field="kind", tag="plant_grade", kw_only=True):
    site: str
    grade: int  # the GB 18918 grade its last closed day met: 1 Grade 1A, 2 Grade 1B, 3 neither


class Revised(msgspec.Struct, tag_field="kind", tag="revised", kw_only=True):
    """Audited readings replaced stored ones of a site: its days they fall on are assessed
    again from storage."""

    feed: str
    site: str
    days: list[str]  # ISO dates, China Standard Time


Summary = AirDay | SectionClass | PlantGrade | Revised
encode = msgspec.json.Encoder().encode
decode = msgspec.json.Decoder(Summary).decode
