"""The wastewater feed: effluent samples of the city's urban wastewater treatment plants.

The quantities are GB 18918-2002 Table 1's basic control items (the plant is judged on their
daily means), the water temperature (which sets NH3-N's cold-water limit) and the flow.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

from msgspec import Struct

from schemas.feed import Feed
from schemas.fields import PRELIMINARY, Flags, SiteId, Status, Timestamp, measure

DAY_S = 86400


class WastewaterReading(Struct, forbid_unknown_fields=True, kw_only=True):
    """One effluent sample of a wastewater treatment plant, in mg/L unless noted.

    ``ts`` is the end of the sampling period."""

    plant_id: SiteId
    ts: Timestamp
    cod: Annotated[float, measure(0, 5000, "mg/L", "chemical oxygen demand")] | None = None
    bod5: Annotated[float, measure(0, 2000, "mg/L", "BOD5")] | None = None
    ss: Annotated[float, measure(0, 10000, "mg/L", "suspended solids")] | None = None
    tn: Annotated[float, measure(0, 500, "mg/L", "total nitrogen")] | None = None
    nh3n: Annotated[float, measure(0, 500, "mg/L", "ammonia nitrogen")] | None = None
    tp: Annotated[float, measure(0, 100, "mg/L", "total phosphorus")] | None = None
    ph: Annotated[float, measure(0, 14, "dimensionless", "pH")] | None = None
    fecal_coliform: Annotated[float, measure(0, 1e9, "count/L", "fecal coliform")] | None = None
    temp: Annotated[float, measure(-5, 45, "°C", "water temperature")] | None = None
    flow: Annotated[float, measure(0, 200000, "m³/h", "effluent flow")] | None = None
    flags: Flags | None = None
    status: Status = PRELIMINARY

    def site(self) -> str:
        return self.plant_id

    def span(self) -> tuple[datetime, datetime]:
        return self.ts, self.ts

    def problem(self) -> tuple[str, str] | None:
        return None


@dataclass(frozen=True, slots=True)
class Plant:
    """An urban wastewater treatment plant, judged against GB 18918-2002 at its effluent."""

    id: str
    name_zh: str
    county: str
    lat: float
    lon: float
    capacity_m3_d: float
    built: date  # GB 18918 Table 1 sets TP by whether a plant was built before 2006-01-01
    required_grade: Literal["1A", "1B"]
    interval_s: int
    sample: bool
    mn: str | None = None  # its HJ 212 data logger: MN and access password
    pw: str | None = None

    def problem(self, counties: Container[str]) -> tuple[str, str] | None:
        """A plant is judged on its local days' samples: its sampling periods must tile a day,
        so that no sample spans midnight."""
        if DAY_S % self.interval_s:
            return "interval_s", f"{self.interval_s} s does not divide a day ({DAY_S} s)"
        return None


FEED = Feed(
    name="wastewater",
    about="Effluent samples of urban wastewater treatment plants, GB 18918-2002 Table 1 items "
    "(mg/L unless noted), water temperature and flow.",
    reading=WastewaterReading,
    site=Plant,
    register="plants.csv",
    judgement="alerts.feeds.wastewater",
)
