"""The noise feed's contract: what a meter sends, its register row, its registry entry."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime

from msgspec import Struct

from schemas.feed import Feed
from schemas.fields import PRELIMINARY, Flags, SiteId, Status, Timestamp, quantity


class NoiseReading(Struct, forbid_unknown_fields=True, kw_only=True):
    """The equivalent sound level of one road-noise meter over an hour."""

    meter_id: SiteId
    ts: Timestamp
    leq: quantity(0, 160, "dB(A)", "equivalent sound level") | None = None
    flags: Flags | None = None
    status: Status = PRELIMINARY

    def site(self) -> str:
        return self.meter_id

    def span(self) -> tuple[datetime, datetime]:
        return self.ts, self.ts

    def problem(self) -> tuple[str, str] | None:
        return None


@dataclass(frozen=True, slots=True)
class Meter:
    id: str
    name_zh: str
    county: str
    lat: float
    lon: float
    limit_db: float
    interval_s: int
    sample: bool

    def problem(self, counties: Container[str]) -> tuple[str, str] | None:
        return None


FEED = Feed(
    name="noise",
    about="Road-noise meters (equivalent sound level, dB(A)).",
    reading=NoiseReading,
    site=Meter,
    register="meters.csv",
    judgement="tests.support.noise.judgement",
)
