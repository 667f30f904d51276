"""The city's register of counties and monitored sites, read from the CSV files in ``reference/``.

The files are edited by bureau staff (often in a spreadsheet), so the loader is strict and says
exactly where a row is wrong: file, line and column. Each feed names its register file and the
type of its rows (``schemas/feeds``); the shipped sites are sample data, and nothing else may
depend on their names, only on this loader's types.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args, get_origin, get_type_hints

from schemas.feed import Feed
from schemas.feeds import FEEDS
from schemas.hj212.segment import LOGGER_TOKEN

DEFAULT_DIR = Path(__file__).with_name("reference")
# Loose bounding box of Jinhua: catches swapped or mistyped coordinates, not county borders.
LAT_RANGE, LON_RANGE = (28.3, 29.9), (119.0, 121.0)


class RegisterError(ValueError):
    """A register file the loader refuses; the message names the file, line and column."""


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


@dataclass(frozen=True)
class Reference:
    """Everything in the register: counties by code, and each feed's sites by id."""

    counties: Mapping[str, County]
    by_feed: Mapping[str, Mapping[str, Any]]

    def loggers(self) -> dict[str, tuple[str, Any]]:
        """MN -> (feed, site) of every site with an HJ 212 data logger."""
        return {
            site.mn: (feed, site)
            for feed, sites in self.by_feed.items()
            for site in sites.values()
            if getattr(site, "mn", None)
        }

    def sites(self, feed: str) -> Mapping[str, Any]:
        """The sites of a feed; KeyError naming the known feeds otherwise."""
        if feed not in self.by_feed:
            raise KeyError(f"unknown feed {feed!r}; known: {', '.join(self.by_feed)}")
        return self.by_feed[feed]

    def site(self, feed: str, site_id: str) -> Any:
        """The registered site; KeyError if the feed or the id is unknown."""
        return self.sites(feed)[site_id]

    def county_of(self, feed: str, site_id: str) -> County:
        return self.counties[self.site(feed, site_id).county]


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


def _check(row: Any, counties: Mapping[str, County]) -> tuple[str, str] | None:
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
    return None if isinstance(row, County) else row.problem(counties)


def _load(path: Path, cls: type, counties: Mapping[str, County]) -> dict[str, Any]:
    try:
        return _rows(path, cls, counties)
    except UnicodeDecodeError as e:
        raise RegisterError(
            f"{path.name}: not UTF-8 (byte {e.start}: {e.reason}); save it as UTF-8"
        ) from None


def _rows(path: Path, cls: type, counties: Mapping[str, County]) -> dict[str, Any]:
    hints = get_type_hints(cls)
    key = dataclasses.fields(cls)[0].name
    rows: dict[str, Any] = {}
    with path.open(encoding="utf-8-sig", newline="") as f:  # -sig: spreadsheets write a BOM
        reader = csv.DictReader(f)
        missing = [c for c in hints if c not in (reader.fieldnames or [])]
        if missing:
            raise RegisterError(f"{path.name}, line 1, column {missing[0]!r}: missing from header")
        for cells in reader:
            where = f"{path.name}, line {reader.line_num}"
            values = {}
            for column, hint in hints.items():
                try:
                    values[column] = _convert((cells[column] or "").strip(), hint)
                except ValueError as e:
                    raise RegisterError(f"{where}, column {column!r}: {e}") from None
            row = cls(**values)
            problem = _check(row, counties)
            if problem is None and values[key] in rows:
                problem = key, f"duplicate {key} {values[key]!r}"
            if problem:
                raise RegisterError(f"{where}, column {problem[0]!r}: {problem[1]}")
            rows[values[key]] = row
    return rows


def load_reference(directory: Path | None = None, feeds: Mapping[str, Feed] = FEEDS) -> Reference:
    """Load and validate the register files; RegisterError names the file, line and column."""
    directory = directory or DEFAULT_DIR
    counties = MappingProxyType(_load(directory / "counties.csv", County, {}))
    reference = Reference(
        counties=counties,
        by_feed=MappingProxyType(
            {
                name: MappingProxyType(_load(directory / feed.register, feed.site, counties))
                for name, feed in feeds.items()
            }
        ),
    )
    _check_loggers(reference, {name: feed.register for name, feed in feeds.items()})
    return reference


def _check_loggers(reference: Reference, files: Mapping[str, str]) -> None:
    """An MN names one logger: it may stand on one site of the whole register only."""
    seen: dict[str, str] = {}
    for feed, sites in reference.by_feed.items():
        for site in sites.values():
            mn = getattr(site, "mn", None)
            if mn is None:
                continue
            where = f"{files[feed]}, site {site.id!r}"
            if mn in seen:
                raise ValueError(f"{where}, column 'mn': MN {mn!r} is also the MN of {seen[mn]}")
            seen[mn] = where
