"""The water feed: samples of the city's surface-water sections, GB 3838-2002 items."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from msgspec import Struct, field

from schemas.feed import Feed
from schemas.fields import PRELIMINARY, Flags, SiteId, Status, Timestamp, quantity


class WaterReading(Struct, forbid_unknown_fields=True, kw_only=True):
    """One sample of a surface-water section, GB 3838-2002 items in mg/L unless noted."""

    section_id: SiteId
    ts: Timestamp
    ph: quantity(0, 14, "dimensionless", "pH") | None = None
    do: quantity(0, 25, "mg/L", "dissolved oxygen") | None = None
    codmn: quantity(0, 500, "mg/L", "permanganate index") | None = None
    cod: quantity(0, 5000, "mg/L", "chemical oxygen demand") | None = None
    bod5: quantity(0, 2000, "mg/L", "BOD5") | None = None
    nh3n: quantity(0, 500, "mg/L", "ammonia nitrogen") | None = None
    tp: quantity(0, 100, "mg/L", "total phosphorus") | None = None
    tn: quantity(0, 500, "mg/L", "total nitrogen") | None = None
    temp: quantity(-5, 45, "°C", "water temperature") | None = None
    cu: quantity(0, 100, "mg/L", "copper") | None = None
    zn: quantity(0, 100, "mg/L", "zinc") | None = None
    fluoride: quantity(0, 100, "mg/L", "fluoride") | None = None
    se: quantity(0, 10, "mg/L", "selenium") | None = None
    arsenic: quantity(0, 10, "mg/L", "arsenic") | None = field(default=None, name="as")
    hg: quantity(0, 1, "mg/L", "mercury") | None = None
    cd: quantity(0, 10, "mg/L", "cadmium") | None = None
    cr6: quantity(0, 10, "mg/L", "chromium (VI)") | None = None
    pb: quantity(0, 10, "mg/L", "lead") | None = None
    cyanide: quantity(0, 10, "mg/L", "cyanide") | None = None
    phenol: quantity(0, 10, "mg/L", "volatile phenol") | None = None
    petroleum: quantity(0, 100, "mg/L", "petroleum") | None = None
    las: quantity(0, 100, "mg/L", "anionic surfactant") | None = None
    sulfide: quantity(0, 100, "mg/L", "sulfide") | None = None
    fecal_coliform: quantity(0, 1e9, "count/L", "fecal coliform") | None = None
    flags: Flags | None = None
    status: Status = PRELIMINARY

    def site(self) -> str:
        return self.section_id

    def span(self) -> tuple[datetime, datetime]:
        return self.ts, self.ts

    def problem(self) -> tuple[str, str] | None:
        return None


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    name_zh: str
    river: str
    county: str
    lat: float
    lon: float
    waterbody: Literal["river", "lake"]  # "lake" covers reservoirs
    control_level: Literal["national", "provincial", "county_boundary", "city"]
    target_class: Literal[1, 2, 3, 4, 5]
    upstream_county: str | None
    downstream_county: str | None
    drinking_source: bool
    interval_s: int
    sample: bool
    mn: str | None = None  # its HJ 212 data logger: MN and access password
    pw: str | None = None

    def problem(self, counties: Container[str]) -> tuple[str, str] | None:
        """Only county-boundary sections name the counties upstream and downstream."""
        boundary = self.control_level == "county_boundary"
        for column in ("upstream_county", "downstream_county"):
            value = getattr(self, column)
            if boundary and value not in counties:
                return column, f"a county_boundary section needs a known county, got {value!r}"
            if not boundary and value is not None:
                return column, "only county_boundary sections name up/downstream counties"
        return None


FEED = Feed(
    name="water",
    about="Surface-water section samples, GB 3838-2002 items (mg/L unless noted).",
    reading=WaterReading,
    site=Section,
    register="sections.csv",
    judgement="alerts.feeds.water",
)
