"""Standards as data with editions: which edition of a standard is in force at a given time.

Each file in ``data/`` is one edition of one standard family (``aqi``, ``air``, ``water``,
``energy``) with its effective dates. Effective dates are calendar days in China Standard Time, so
a reading is placed on the calendar at UTC+8 before an edition is chosen. Floats in the files are
read as ``Decimal`` so that limits compare exactly.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).with_name("data")
CST = timezone(timedelta(hours=8), "CST")


class NoEditionError(LookupError):
    """No edition of the family covers the date, or the named edition does not exist."""


@dataclass(frozen=True)
class Edition:
    id: str
    family: str
    standard: str
    effective_from: date
    effective_to: date | None
    confirmed: bool
    provenance: str
    data: Mapping[str, Any]

    def in_force_on(self, day: date) -> bool:
        ends = self.effective_to
        return self.effective_from <= day and (ends is None or day <= ends)


def _edition(raw: dict[str, Any]) -> Edition:
    meta = ("id", "family", "standard", "title", "effective_from", "effective_to", "confirmed")
    return Edition(
        id=raw["id"],
        family=raw["family"],
        standard=raw["standard"],
        effective_from=raw["effective_from"],
        effective_to=raw.get("effective_to"),
        confirmed=raw["confirmed"],
        provenance=raw["provenance"],
        data={k: v for k, v in raw.items() if k not in (*meta, "provenance")},
    )


@cache
def all_editions() -> tuple[Edition, ...]:
    """Every edition shipped, read once; sorted by family and start date."""
    editions = []
    for path in sorted(DATA_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            editions.append(_edition(tomllib.load(fh, parse_float=Decimal)))
    return tuple(sorted(editions, key=lambda e: (e.family, e.effective_from)))


def local_day(at: datetime | date) -> date:
    """The calendar day in China Standard Time; naive datetimes are taken as already local."""
    if isinstance(at, datetime):
        return at.astimezone(CST).date() if at.tzinfo else at.date()
    return at


def in_force(family: str, at: datetime | date | None = None) -> Edition:
    """The edition of ``family`` in force at ``at`` (default: now)."""
    return _in_force_on(family, local_day(at if at is not None else datetime.now(UTC)))


# Asked for on every reading (limits, validity rules, breakpoints), for few distinct days.
@lru_cache(maxsize=8192)
def _in_force_on(family: str, day: date) -> Edition:
    for edition in all_editions():
        if edition.family == family and edition.in_force_on(day):
            return edition
    raise NoEditionError(f"no {family} standard edition is in force on {day.isoformat()}")


@lru_cache(maxsize=256)
def by_name(family: str, name: str) -> Edition:
    """An edition by id (``hj633-2012``) or year (``2012``).

    A year that names no edition of the family selects the edition in force at the end of that
    year, so ``2012`` means "the 2012 set" for water and energy too (GB 3838-2002, GB/T 2589-2008).
    """
    family_editions = [e for e in all_editions() if e.family == family]
    for edition in family_editions:
        if name.lower() in (edition.id, edition.id.rsplit("-", 1)[-1]):
            return edition
    if name.isdigit() and len(name) == 4:
        return in_force(family, date(int(name), 12, 31))
    known = ", ".join(e.id for e in family_editions)
    raise NoEditionError(f"unknown {family} edition {name!r}; known: {known}")


def resolve(family: str, edition: Edition | str | None, at: datetime | date | None) -> Edition:
    """The edition a function should use: the one given, else the one in force at ``at``."""
    if isinstance(edition, Edition):
        if edition.family != family:
            raise NoEditionError(f"{edition.id} is a {edition.family} edition, not {family}")
        return edition
    if edition is not None:
        return by_name(family, edition)
    return in_force(family, at)
