"""The air feed: hourly (or daily) concentrations from the city's air-quality stations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from msgspec import Struct

from schemas.feed import Feed
from schemas.fields import PRELIMINARY, Flags, Mg, SiteId, Status, Timestamp, Ug


class AirReading(Struct, forbid_unknown_fields=True, kw_only=True):
    """One averaging period of one air-quality station. At least one pollutant is required.

    ``ts`` is the end of the averaging period."""

    station_id: SiteId
    ts: Timestamp
    period: Literal["1h", "24h"] = "1h"
    pm25: Ug | None = None
    pm10: Ug | None = None
    so2: Ug | None = None
    no2: Ug | None = None
    o3: Ug | None = None
    co: Mg | None = None
    flags: Flags | None = None
    status: Status = PRELIMINARY

    def site(self) -> str:
        return self.station_id

    def span(self) -> tuple[datetime, datetime]:
        return self.ts, self.ts

    def problem(self) -> tuple[str, str] | None:
        return None


@dataclass(frozen=True, slots=True)
class Station:
    id: str
    name_zh: str
    county: str
    lat: float
    lon: float
    zone_class: Literal[1, 2]  # GB 3095 zone: grade I limits in class 1, grade II in class 2
    interval_s: int
    sample: bool
    mn: str | None = None  # its HJ 212 data logger: MN and access password
    pw: str | None = None

    def problem(self, counties: object) -> tuple[str, str] | None:
        return None


FEED = Feed(
    name="air",
    about="Air-quality station readings (concentrations in µg/m³, CO in mg/m³).",
    reading=AirReading,
    site=Station,
    register="stations.csv",
    judgement="alerts.feeds.air",
    key=("ts", "period"),
)
