"""The factor table (``factors.toml``): which HJ 212 code fills which feed field, and by how much
a value is scaled from the unit a logger sends to the unit of the feed's contract.

The feed's unit is read from its contract (``schemas/feeds/<feed>.py``: each measured
quantity's description ends in its unit), so the table and the contract cannot disagree
silently: a unit pair without a known conversion fails at load.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from schemas.feed import Feed
from schemas.feeds import FEEDS

PATH = Path(__file__).with_name("factors.toml")
# unit -> (dimension, size in that dimension's base unit)
UNITS: dict[str, tuple[str, float]] = {
    "mg/m³": ("mass per m³", 1.0),
    "µg/m³": ("mass per m³", 1e-3),
    "mg/L": ("mass per L", 1.0),
    "µg/L": ("mass per L", 1e-3),
    "ng/L": ("mass per L", 1e-6),
    "1": ("dimensionless", 1.0),
    "dimensionless": ("dimensionless", 1.0),
    "°C": ("temperature", 1.0),
    "count/L": ("count per L", 1.0),
    "L/s": ("flow", 1.0),
    "m³/h": ("flow", 1000 / 3600),
    "m³/d": ("flow", 1000 / 86400),
}
_UNIT_IN_DESCRIPTION = re.compile(r"\(([^()]+)\)$")


@dataclass(frozen=True, slots=True)
class FactorMapping:
    code: str
    field: str  # the feed field's wire name
    unit: str  # as the logger sends it
    scale: float  # multiply a sent value by this to get the feed's unit
    confirmed: bool


@dataclass(frozen=True, slots=True)
class FeedFactors:
    feed: str
    factors: MappingProxyType[str, FactorMapping]
    ignore: frozenset[str]


def feed_units(feed: Feed) -> dict[str, str]:
    """Wire name -> unit of each measured quantity of a feed."""
    units = {}
    for quantity in feed.quantities:
        found = _UNIT_IN_DESCRIPTION.search(quantity.description)
        if found:
            units[quantity.wire] = found.group(1)
    return units


def scale(sent: str, wanted: str) -> float:
    """The factor from one unit to another; ValueError if they measure different things."""
    if sent not in UNITS or wanted not in UNITS:
        raise ValueError(f"no conversion known for {sent!r} -> {wanted!r}")
    (dim_a, size_a), (dim_b, size_b) = UNITS[sent], UNITS[wanted]
    if dim_a != dim_b:
        raise ValueError(f"{sent!r} ({dim_a}) cannot be converted to {wanted!r} ({dim_b})")
    return size_a / size_b


def load_factors(path: Path = PATH, feeds: Mapping[str, Feed] = FEEDS) -> dict[str, FeedFactors]:
    """Every feed of the table that is in the registry, checked against its contract."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    tables = {}
    for feed, section in raw.items():
        if not isinstance(section, dict) or feed not in feeds:
            continue
        units = feed_units(feeds[feed])
        mapped = {}
        for code, entry in section["factors"].items():
            field = entry["field"]
            if field not in units:
                raise ValueError(f"{path.name}: {feed}.{code} names {field!r}, not a {feed} field")
            try:
                factor = scale(entry["unit"], units[field])
            except ValueError as e:
                raise ValueError(f"{path.name}: {feed}.{code}: {e}") from None
            mapped[code] = FactorMapping(code, field, entry["unit"], factor, entry["confirmed"])
        fields = [m.field for m in mapped.values()]
        if len(set(fields)) != len(fields):
            raise ValueError(f"{path.name}: two codes fill the same {feed} field")
        tables[feed] = FeedFactors(feed, MappingProxyType(mapped), frozenset(section["ignore"]))
    return tables
