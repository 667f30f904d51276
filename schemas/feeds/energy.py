"""The energy feed: metered consumption of the city's key energy-using units, by carrier."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime

from msgspec import Struct

from schemas.feed import Feed
from schemas.fields import PRELIMINARY, Flags, SiteId, Status, Timestamp, quantity

INDUSTRIES = frozenset(
    {"cement", "textile", "chemical", "power", "steel", "paper", "ceramics", "glass",
     "hardware", "electronics", "pharma"}
)  # fmt: skip


class EnergyReading(Struct, forbid_unknown_fields=True, kw_only=True):
    """Metered consumption of one key energy-using unit over a period, by carrier."""

    unit_id: SiteId
    period_start: Timestamp
    period_end: Timestamp
    electricity_kwh: quantity(0, 1e10, "kWh", "electricity") | None = None
    raw_coal_t: quantity(0, 1e7, "t", "raw coal") | None = None
    coke_t: quantity(0, 1e7, "t", "coke") | None = None
    natural_gas_m3: quantity(0, 1e10, "m³", "natural gas") | None = None
    fuel_oil_t: quantity(0, 1e7, "t", "fuel oil") | None = None
    gasoline_t: quantity(0, 1e7, "t", "gasoline") | None = None
    diesel_t: quantity(0, 1e7, "t", "diesel") | None = None
    lpg_t: quantity(0, 1e7, "t", "liquefied petroleum gas") | None = None
    heat_gj: quantity(0, 1e9, "GJ", "purchased heat") | None = None
    output_10k_yuan: quantity(0, 1e9, "10,000 yuan", "output value") | None = None
    flags: Flags | None = None
    status: Status = PRELIMINARY

    def site(self) -> str:
        return self.unit_id

    def span(self) -> tuple[datetime, datetime]:
        return self.period_start, self.period_end

    def problem(self) -> tuple[str, str] | None:
        if self.period_end <= self.period_start:
            return (
                "period_end must be after period_start "
                f"(got {self.period_start.isoformat()} .. {self.period_end.isoformat()})",
                "bad_period",
            )
        return None


@dataclass(frozen=True, slots=True)
class EnergyUnit:
    id: str
    name_zh: str
    county: str
    lat: float
    lon: float
    industry: str
    intensity_quota_tce_per_10k_yuan: float
    annual_cap_tce: float
    interval_s: int
    sample: bool

    def problem(self, counties: Container[str]) -> tuple[str, str] | None:
        if self.industry not in INDUSTRIES:
            return "industry", f"{self.industry!r} is not one of {', '.join(sorted(INDUSTRIES))}"
        return None


FEED = Feed(
    name="energy",
    about="Metered energy use of a key energy-using unit over a period, by carrier.",
    reading=EnergyReading,
    site=EnergyUnit,
    register="energy_units.csv",
    judgement="alerts.feeds.energy",
    key=("period_start",),
)
