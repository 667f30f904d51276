"""The feed contracts as typed structs, decoded straight from raw bytes with msgspec.

One message carries one site's readings: a single object or an array of them. The JSON Schema
documents agencies read (``schemas/feeds/*.schema.json``) are generated from these structs,
so the contract and the decoder cannot drift apart.

Bounds here are the physical range of each quantity (what an instrument can honestly report);
values inside it that break a standard are judged later, never rejected.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct, field

SiteId = Annotated[
    str,
    Meta(min_length=1, max_length=64, description="Site id from the city's reference register"),
]
Timestamp = Annotated[
    datetime,
    Meta(tz=True, description="RFC 3339 timestamp with offset, e.g. 2026-11-28T08:00:00+08:00"),
]


def _range(lo: float, hi: float, unit: str, what: str) -> Any:
    """A measured quantity: a float within its physical range, documented in the schema."""
    return Annotated[float, Meta(ge=lo, le=hi, description=f"{what} ({unit})")]


Ug = _range(0, 5000, "µg/m³", "concentration")
Mg = _range(0, 200, "mg/m³", "concentration")


class AirReading(Struct, forbid_unknown_fields=True, kw_only=True):
    """One averaging period of one air-quality station. At least one pollutant is required."""

    station_id: SiteId
    ts: Timestamp
    period: Literal["1h", "24h"] = "1h"
    pm25: Ug | None = None
    pm10: Ug | None = None
    so2: Ug | None = None
    no2: Ug | None = None
    o3: Ug | None = None
    co: Mg | None = None
    flags: dict[str, str] | None = None

    def site(self) -> str:
        return self.station_id


class WaterReading(Struct, forbid_unknown_fields=True, kw_only=True):
    """One sample of a surface-water section, GB 3838-2002 items in mg/L unless noted."""

    section_id: SiteId
    ts: Timestamp
    ph: _range(0, 14, "dimensionless", "pH") | None = None
    do: _range(0, 25, "mg/L", "dissolved oxygen") | None = None
    codmn: _range(0, 500, "mg/L", "permanganate index") | None = None
    cod: _range(0, 5000, "mg/L", "chemical oxygen demand") | None = None
    bod5: _range(0, 2000, "mg/L", "BOD5") | None = None
    nh3n: _range(0, 500, "mg/L", "ammonia nitrogen") | None = None
    tp: _range(0, 100, "mg/L", "total phosphorus") | None = None
    tn: _range(0, 500, "mg/L", "total nitrogen") | None = None
    temp: _range(-5, 45, "°C", "water temperature") | None = None
    cu: _range(0, 100, "mg/L", "copper") | None = None
    zn: _range(0, 100, "mg/L", "zinc") | None = None
    fluoride: _range(0, 100, "mg/L", "fluoride") | None = None
    se: _range(0, 10, "mg/L", "selenium") | None = None
    arsenic: _range(0, 10, "mg/L", "arsenic") | None = field(default=None, name="as")
    hg: _range(0, 1, "mg/L", "mercury") | None = None
    cd: _range(0, 10, "mg/L", "cadmium") | None = None
    cr6: _range(0, 10, "mg/L", "chromium (VI)") | None = None
    pb: _range(0, 10, "mg/L", "lead") | None = None
    cyanide: _range(0, 10, "mg/L", "cyanide") | None = None
    phenol: _range(0, 10, "mg/L", "volatile phenol") | None = None
    petroleum: _range(0, 100, "mg/L", "petroleum") | None = None
    las: _range(0, 100, "mg/L", "anionic surfactant") | None = None
    sulfide: _range(0, 100, "mg/L", "sulfide") | None = None
    fecal_coliform: _range(0, 1e9, "count/L", "fecal coliform") | None = None
    flags: dict[str, str] | None = None

    def site(self) -> str:
        return self.section_id


class EnergyReading(Struct, forbid_unknown_fields=True, kw_only=True):
    """Metered consumption of one key energy-using unit over a period, by carrier."""

    unit_id: SiteId
    period_start: Timestamp
    period_end: Timestamp
    electricity_kwh: _range(0, 1e10, "kWh", "electricity") | None = None
    raw_coal_t: _range(0, 1e7, "t", "raw coal") | None = None
    coke_t: _range(0, 1e7, "t", "coke") | None = None
    natural_gas_m3: _range(0, 1e10, "m³", "natural gas") | None = None
    fuel_oil_t: _range(0, 1e7, "t", "fuel oil") | None = None
    gasoline_t: _range(0, 1e7, "t", "gasoline") | None = None
    diesel_t: _range(0, 1e7, "t", "diesel") | None = None
    lpg_t: _range(0, 1e7, "t", "liquefied petroleum gas") | None = None
    heat_gj: _range(0, 1e9, "GJ", "purchased heat") | None = None
    output_10k_yuan: _range(0, 1e9, "10,000 yuan", "output value") | None = None
    flags: dict[str, str] | None = None

    def site(self) -> str:
        return self.unit_id


Reading = AirReading | WaterReading | EnergyReading
Feed = Literal["air", "water", "energy"]
FEEDS: tuple[Feed, ...] = ("air", "water", "energy")
MODELS: dict[str, type[AirReading] | type[WaterReading] | type[EnergyReading]] = {
    "air": AirReading,
    "water": WaterReading,
    "energy": EnergyReading,
}
NOT_MEASURED = frozenset(
    {"station_id", "section_id", "unit_id", "ts", "period", "period_start", "period_end", "flags"}
)


def measured_fields(model: type[Struct]) -> tuple[tuple[str, str], ...]:
    """(attribute, wire name) of every measured quantity of a feed model, in declared order."""
    info = msgspec.inspect.type_info(model)
    assert isinstance(info, msgspec.inspect.StructType)
    return tuple((f.name, f.encode_name) for f in info.fields if f.name not in NOT_MEASURED)
