"""The water feed: samples of the city's surface-water sections, GB 3838-2002 items."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from msgspec import Struct, field

from schemas.feed import Feed
from schemas.fields import PRELIMINARY, Flags, SiteId, Status, Timestamp, measure


class WaterReading(Struct, forbid_unknown_fields=True, kw_only=True):
    """One sample of a surface-water section, GB 3838-2002 items in mg/L unless noted."""

    section_id: SiteId
    ts: Timestamp
    ph: Annotated[float, measure(0, 14, "dimensionless", "pH")] | None = None
    do: Annotated[float, measure(0, 25, "mg/L", "dissolved oxygen")] | None = None
    codmn: Annotated[float, measure(0, 500, "mg/L", "permanganate index")] | None = None
    cod: Annotated[float, measure(0, 5000, "mg/L", "chemical oxygen demand")] | None = None
    bod5: Annotated[float, measure(0, 2000, "mg/L", "BOD5")] | None = None
    nh3n: Annotated[float, measure(0, 500, "mg/L", "ammonia nitrogen")] | None = None
    tp: Annotated[float, measure(0, 100, "mg/L", "total phosphorus")] | None = None
    tn: Annotated[float, measure(0, 500, "mg/L", "total nitrogen")] | None = None
    temp: Annotated[float, measure(-5, 45, "°C", "water temperature")] | None = None
    cu: Annotated[float, measure(0, 100, "mg/L", "copper")] | None = None
    zn: Annotated[float, measure(0, 100, "mg/L", "zinc")] | None = None
    fluoride: Annotated[float, measure(0, 100, "mg/L", "fluoride")] | None = None
    se: Annotated[float, measure(0, 10, "mg/L", "selenium")] | None = None
    arsenic: Annotated[float, measure(0, 10, "mg/L", "arsenic")] | None = field(
        default=None, name="as"
    )
    hg: Annotated[float, measure(0, 1, "mg/L", "mercury")] | None = None
    cd: Annotated[float, measure(0, 10, "mg/L", "cadmium")] | None = None
    cr6: Annotated[float, measure(0, 10, "mg/L", "chromium (VI)")] | None = None
    pb: Annotated[float, measure(0, 10, "mg/L", "lead")] | None = None
    cyanide: Annotated[float, measure(0, 10, "mg/L", "cyanide")] | None = None
    phenol: Annotated[float, measure(0, 10, "mg/L", "volatile phenol")] | None = None
    petroleum: Annotated[float, measure(0, 100, "mg/L", "petroleum")] | None = None
    las: Annotated[float, measure(0, 100, "mg/L", "anionic surfactant")] | None = None
    sulfide: Annotated[float, measure(0, 100, "mg/L", "sulfide")] | None = None
    fecal_coliform: Annotated[float, measure(0, 1e9, "count/L", "fecal coliform")] | None = None
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
