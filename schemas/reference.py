"""The city's register of counties and monitored sites, read from the CSV files in ``reference/``.

The files are edited by bureau staff (often in a spreadsheet), so the loader is strict and says
exactly where a row is wrong: file, line and column. The shipped sites are sample data; nothing
else may depend on their names, only on this loader's types.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args, get_origin, get_type_hints

from schemas.hj212.segment import LOGGER_TOKEN

DEFAULT_DIR = Path(__file__).with_name("reference")
# Loose bounding box of Jinhua: catches swapped or mistyped coordinates, not county borders.
LAT_RANGE, LON_RANGE = (28.3, 29.9), (119.0, 121.0)
INDUSTRIES = frozenset(
    {"cement", "textile", "chemical", "power", "steel", "paper", "ceramics", "glass",
     "hardware", "electronics", "pharma"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class County:
    code: str
    name_zh: str
    name_en: str
    lat: float
    lon: float
    energy_cap_tce: float
    gdp_10k_yuan: float
    sample: bool


@dataclass(frozen=True, slots=True)
class Station:
    id: str
    name_zh: str
    county: str
    lat: float
    lon: float
    zone_class: Literal[1, 2]
    interval_s: int
    sample: bool
    # The HJ 212 data logger: its MN and access password (PW); empty when it has none.
    mn: str | None = None
    pw: str | None = None


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    name_zh: str
    river: str
    county: str
    lat: float
    lon: float
    waterbody: Literal["river", "lake"]
    control_level: Literal["national", "provincial", "county_boundary", "city"]
    target_class: Literal[1, 2, 3, 4, 5]
    upstream_county: str | None
    downstream_county: str | None
    drinking_source: bool
    interval_s: int
    sample: bool
    mn: str | None = None
    pw: str | None = None


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


@dataclass(frozen=True, slots=True)
class Plant:
    """An urban wastewater treatment plant, judged against GB 18918-2002 at its effluent."""

    id: str
    name_zh: str
    county: str
    lat: float
    lon: float
    capacity_m3_d: float
    built: date  # GB 18918 table 1 sets TP by whether a plant was built before 2006-01-01
    required_grade: Literal["1A", "1B"]
    interval_s: int
    sample: bool
    mn: str | None = None
    pw: str | None = None


Site = Station | Section | EnergyUnit
LoggedSite = Station | Section | Plant  # the sites with an HJ 212 data logger
FILES = {
    "air": "stations.csv",
    "water": "sections.csv",
    "energy": "energy_units.csv",
    "wastewater": "plants.csv",
}


@dataclass(frozen=True)
class Reference:
    """Everything in the register, keyed by code or id; one mapping of sites per feed."""

    counties: MappingProxyType[str, County]
    stations: MappingProxyType[str, Station]
    sections: MappingProxyType[str, Section]
    energy_units: MappingProxyType[str, EnergyUnit]
    plants: MappingProxyType[str, Plant]

    def sites(self, feed: str) -> MappingProxyType[str, Any]:
        """The sites of a feed ("air", "water", "energy" or "wastewater")."""
        by_feed = {
            "air": self.stations,
            "water": self.sections,
            "energy": self.energy_units,
            "wastewater": self.plants,
        }
        if feed not in by_feed:
            raise KeyError(f"unknown feed {feed!r}")
        return by_feed[feed]

    def site(self, feed: str, site_id: str) -> Site:
        """The registered site; KeyError if the feed or the id is unknown."""
        return self.sites(feed)[site_id]

    def county_of(self, feed: str, site_id: str) -> County:
        return self.counties[self.site(feed, site_id).county]

    def loggers(self) -> dict[str, tuple[str, LoggedSite]]:
        """MN -> (feed, site) of every site with an HJ 212 data logger."""
        return {
            site.mn: (feed, site)
            for feed in FILES
            for site in self.sites(feed).values()
            if getattr(site, "mn", None)
        }


def _convert(raw: str, hint: Any) -> Any:
    """One cell to its field's type; ValueError with a reason a person can act on."""
    if hint is str:
        if not raw:
            raise ValueError("must not be empty")
        return raw
    if hint == str | None:
        return raw or None
    if hint is date:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a date (YYYY-MM-DD)") from None
    if hint is bool:
        if raw.lower() not in ("true", "false"):
            raise ValueError(f"{raw!r} is not true or false")
        return raw.lower() == "true"
    if get_origin(hint) is Literal:
        allowed = get_args(hint)
        value = int(raw) if isinstance(allowed[0], int) and raw.lstrip("-").isdigit() else raw
        if value not in allowed:
            raise ValueError(f"{raw!r} is not one of {', '.join(map(str, allowed))}")
        return value
    try:
        value = hint(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (hint is int and value == 0):
        raise ValueError(f"{raw!r} must be a positive number")
    return value


def _check(row: Any, counties: dict[str, County]) -> tuple[str, str] | None:
    """Cross-field rules of one parsed row, as (column, reason), or None when it is fine."""
    if not isinstance(row, County) and row.county not in counties:
        return "county", f"unknown county {row.county!r}"
    for column, (lo, hi) in (("lat", LAT_RANGE), ("lon", LON_RANGE)):
        if not lo <= getattr(row, column) <= hi:
            return column, f"{getattr(row, column)} is outside Jinhua"
    mn, pw = getattr(row, "mn", None), getattr(row, "pw", None)
    for column, value in (("mn", mn), ("pw", pw)):
        if value is not None and not LOGGER_TOKEN.fullmatch(value):
            return column, f"{value!r}: an HJ 212 {column.upper()} is 1 to 24 letters or digits"
    if (mn is None) != (pw is None):
        return "pw" if mn else "mn", "a data logger needs both its MN and its password (PW)"
    if isinstance(row, EnergyUnit) and row.industry not in INDUSTRIES:
        return "industry", f"{row.industry!r} is not one of {', '.join(sorted(INDUSTRIES))}"
    if isinstance(row, Section):
        boundary = row.control_level == "county_boundary"
        for column in ("upstream_county", "downstream_county"):
            value = getattr(row, column)
            if boundary and value not in counties:
                return column, f"a county_boundary section needs a known county, got {value!r}"
            if not boundary and value is not None:
                return column, "only county_boundary sections name up/downstream counties"
    return None


def _load(path: Path, cls: type, counties: dict[str, County]) -> dict[str, Any]:
    hints = get_type_hints(cls)
    key = dataclasses.fields(cls)[0].name
    rows: dict[str, Any] = {}
    with path.open(encoding="utf-8-sig", newline="") as f:  # -sig: spreadsheets write a BOM
        reader = csv.DictReader(f)
        missing = [c for c in hints if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}, line 1, column {missing[0]!r}: missing from header")
        for cells in reader:
            where = f"{path.name}, line {reader.line_num}"
            values = {}
            for column, hint in hints.items():
                try:
                    values[column] = _convert((cells[column] or "").strip(), hint)
                except ValueError as e:
                    raise ValueError(f"{where}, column {column!r}: {e}") from None
            row = cls(**values)
            problem = _check(row, counties)
            if problem is None and values[key] in rows:
                problem = key, f"duplicate {key} {values[key]!r}"
            if problem:
                raise ValueError(f"{where}, column {problem[0]!r}: {problem[1]}")
            rows[values[key]] = row
    return rows


def load_reference(directory: Path | None = None) -> Reference:
    """Load and validate the register files; ValueError names the file, line and column."""
    directory = directory or DEFAULT_DIR
    counties = _load(directory / "counties.csv", County, {})
    kinds = {"air": Station, "water": Section, "energy": EnergyUnit, "wastewater": Plant}
    sites = {feed: _load(directory / FILES[feed], kinds[feed], counties) for feed in FILES}
    seen: dict[str, str] = {}
    for feed, rows in sites.items():
        for site in rows.values():
            mn = getattr(site, "mn", None)
            if mn is None:
                continue
            where = f"{FILES[feed]}, site {site.id!r}"
            if mn in seen:
                raise ValueError(f"{where}, column 'mn': MN {mn!r} is also the MN of {seen[mn]}")
            seen[mn] = where
    return Reference(
        counties=MappingProxyType(counties),
        stations=MappingProxyType(sites["air"]),
        sections=MappingProxyType(sites["water"]),
        energy_units=MappingProxyType(sites["energy"]),
        plants=MappingProxyType(sites["wastewater"]),
    )
