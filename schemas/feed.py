"""What a feed is: one entry in the registry, made from its contract module.

A feed's contract module (``schemas/feeds/<name>.py``) declares the struct its messages
decode into, the register row of its sites and one :class:`Feed` entry; everything the rest
of the system needs to know about the feed (topic, table columns, measured quantities and
their bounds, which module judges it) is read from that entry, never written out again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any, Literal, NamedTuple, Protocol

import msgspec


class Reading(Protocol):
    """What every feed struct offers besides its fields."""

    flags: dict[str, str] | None
    status: str  # preliminary or audited (schemas.fields.Status)

    def site(self) -> str:
        """The site id the reading belongs to."""
        ...

    def span(self) -> tuple[datetime, datetime]:
        """(first, last) moment the reading's timestamps name; judged at the last one."""
        ...

    def problem(self) -> tuple[str, str] | None:
        """A rule across fields that the types cannot express, broken: (reason, code)."""
        ...


class Quantity(NamedTuple):
    """One measured quantity of a feed: its attribute, wire name, unit and physical range."""

    attr: str
    wire: str
    description: str
    lo: float
    hi: float


Kind = Literal["site", "time", "text", "value", "flags", "status"]


class Column(NamedTuple):
    """One column of the feed's table, filled from one attribute of its struct."""

    name: str
    attr: str
    kind: Kind


@dataclass(frozen=True)
class Feed:
    """One feed: its contract, the register of its sites, and where its judgement lives."""

    name: str  # topic suffix, label value and table prefix: "air"
    about: str  # one sentence for the published schema
    reading: type[msgspec.Struct]
    site: type  # the register row of one of its sites
    register: str  # the register file of its sites, in the register folder
    judgement: str  # the module that judges it (its site state and pure judgement)
    key: tuple[str, ...] = ("ts",)  # columns that, with site_id, make a reading unique
    quantities: tuple[Quantity, ...] = field(init=False)
    columns: tuple[Column, ...] = field(init=False)

    def __post_init__(self) -> None:
        info = msgspec.inspect.type_info(self.reading)
        assert isinstance(info, msgspec.inspect.StructType)
        quantities, columns = [], []
        for i, f in enumerate(info.fields):
            bounds = _bounds(f.type)
            if i == 0:
                columns.append(Column("site_id", f.name, "site"))
            elif f.name == "flags":
                columns.append(Column("flags", f.name, "flags"))
            elif f.name == "status":  # preliminary or audited: what a re-sent reading does
                columns.append(Column("status", f.name, "status"))
            elif bounds is not None:
                quantities.append(Quantity(f.name, f.encode_name, _doc(f.type), *bounds))
                columns.append(Column(f.name, f.name, "value"))
            elif _is(f.type, msgspec.inspect.DateTimeType):
                columns.append(Column(f.name, f.name, "time"))
            else:
                columns.append(Column(f.name, f.name, "text"))
        object.__setattr__(self, "quantities", tuple(quantities))
        object.__setattr__(self, "columns", tuple(columns))
        unknown = set(self.key) - {c.name for c in columns}
        if unknown:
            raise ValueError(f"feed {self.name}: key names no column: {sorted(unknown)}")

    @property
    def site_field(self) -> str:
        """The struct field holding the site id (``station_id``)."""
        return self.columns[0].attr

    @property
    def time_column(self) -> str:
        """The column a reading is filed under in time (the first timestamp of its struct)."""
        return next(c.name for c in self.columns if c.kind == "time")

    def row_of(self) -> Callable[[Any], tuple[Any, ...]]:
        """A function from a reading to its row, in column order (flags as given)."""
        return attrgetter(*(c.attr for c in self.columns))


def _is(t: msgspec.inspect.Type, kind: type) -> bool:
    return any(isinstance(x, kind) for x in _members(t))


def _members(t: msgspec.inspect.Type) -> list[msgspec.inspect.Type]:
    types = t.types if isinstance(t, msgspec.inspect.UnionType) else (t,)
    return [x.type if isinstance(x, msgspec.inspect.Metadata) else x for x in types]


def _bounds(t: msgspec.inspect.Type) -> tuple[float, float] | None:
    for x in _members(t):
        if isinstance(x, msgspec.inspect.FloatType):
            lo = -math.inf if x.ge is None else x.ge
            hi = math.inf if x.le is None else x.le
            return lo, hi
    return None


def _doc(t: msgspec.inspect.Type) -> str:
    types = t.types if isinstance(t, msgspec.inspect.UnionType) else (t,)
    for x in types:
        if isinstance(x, msgspec.inspect.Metadata) and x.extra_json_schema:
            return str(x.extra_json_schema.get("description", ""))
    return ""
