"""What a reading sent again for a stored key (its site and ``Feed.key``) does to the stored row.

Agencies publish real-time data first and audited data later, and at-least-once delivery sends
some readings twice. So a reading at a key already held is one of:

- a duplicate: the same values and flags (or, for a preliminary reading, no more than the
  stored row holds): nothing changes;
- a fill: a preliminary reading that agrees with a preliminary row on every quantity both
  carry and brings quantities the row lacks (NULL there): those columns are filled;
- a conflict: a preliminary reading whose values or flags differ from the stored row's, or
  that would change an audited row: not stored, and dead-lettered with a reason naming the
  stored values and when they were received (a correction is sent as audited);
- a revision: an audited reading not identical to the stored row replaces its values, flags
  and status; the replaced row is kept as a revision.

A reading replayed from an offset at or before the one of the audited reading that last
revised its row (same topic and partition: a worker's replay after a crash, which re-reads the
offsets after its last commit) was applied already, and is a duplicate too: so a replay neither
revises again nor dead-letters the preliminary reading the audited one replaced.

Pure: rows in, decisions out (``streams/sink.py`` reads the stored rows and writes the
decisions in one transaction). A batch is taken in its order, each reading against the row as
the readings before it left it, so a key sent twice in one batch is decided as if sent twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from schemas.feed import Feed
from schemas.fields import AUDITED
from schemas.tables import replaced, unique_key

CONFLICTING = "conflicting_duplicate"  # the dead-letter code of a conflict
Row = tuple[Any, ...]  # in the feed's column order (``Feed.row_of``)
Key = tuple[Any, ...]  # the row's values at ``tables.unique_key``


class Origin(Protocol):
    """Where a row came from: the topic, partition and offset of its message (a consumed
    record is one); a revision keeps the audited reading's."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...


class Source(NamedTuple):
    """An origin of rows written other than from a consumed record (a benchmark, a test)."""

    topic: str
    partition: int
    offset: int


# Per key, the latest offset per (topic, partition) whose audited reading revised the row.
Applied = Mapping[Key, Mapping[tuple[str, int], int]]


@dataclass(frozen=True, slots=True)
class Stored:
    """A row as held: stored before (when it was received), or earlier in this batch (None)."""

    row: Row
    received_at: datetime | None


@dataclass(frozen=True, slots=True)
class Conflict:
    index: int  # of the reading in the batch
    reason: str


@dataclass(frozen=True, slots=True)
class Revision:
    """A stored row an audited reading (``index`` in the batch) replaced."""

    old: Stored
    index: int


@dataclass
class Resolution:
    """What a batch does: rows to insert as they are, rows to set (the final row of each key
    changed, with the ``received_at`` to keep, None for now), revisions, conflicts."""

    new: list[int] = field(default_factory=list)
    changed: dict[Key, Stored] = field(default_factory=dict)
    revisions: list[Revision] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    filled: int = 0
    duplicates: int = 0


class Layout:
    """Where a feed's row holds its key, its fields (each with the name its flag is filed
    under: a quantity's wire name, or None), its flags and its status."""

    def __init__(self, feed: Feed) -> None:
        index = {c.name: i for i, c in enumerate(feed.columns)}
        wires = {q.attr: q.wire for q in feed.quantities}
        self.key = tuple(index[k] for k in unique_key(feed))
        self.key_names = unique_key(feed)
        self.replaced = tuple(index[c.name] for c in replaced(feed))
        self.flags = index["flags"]
        self.status = index["status"]
        self.fields = tuple(
            (index[c.name], wires.get(c.attr, c.name), c.attr in wires)
            for c in replaced(feed)
            if c.kind not in ("flags", "status")
        )

    def key_of(self, row: Row) -> Key:
        return tuple(row[i] for i in self.key)


def resolve(
    layout: Layout,
    stored: Mapping[Key, Stored],
    rows: Sequence[Row],
    origins: Sequence[Origin],
    applied: Applied,
) -> Resolution:
    """Decide each row of a batch (from ``origins``) against the stored rows at its keys
    (missing: not stored) and the revisions they had (``applied``)."""
    out = Resolution()
    held = dict(stored)
    for index, row in enumerate(rows):
        key = layout.key_of(row)
        now = held.get(key)
        if now is None:
            out.new.append(index)
            held[key] = Stored(row, None)
            continue
        origin = origins[index]
        last = applied.get(key, {}).get((origin.topic, origin.partition), -1)
        if origin.offset <= last:
            out.duplicates += 1  # replayed: the row holds what came after it
            continue
        if row[layout.status] == AUDITED:
            if _identical(layout, now.row, row):
                out.duplicates += 1
                continue
            out.revisions.append(Revision(now, index))
            held[key] = out.changed[key] = Stored(row, None)
            continue
        differs, adds = _compare(layout, now.row, row)
        audited = now.row[layout.status] == AUDITED
        if differs or (adds and audited):
            out.conflicts.append(Conflict(index, _reason(layout, now, row, differs, adds)))
        elif adds:
            held[key] = out.changed[key] = Stored(
                _filled(layout, now.row, row, adds), now.received_at
            )
            out.filled += 1
        else:
            out.duplicates += 1
    return out


def _flag(layout: Layout, row: Row, wire: str) -> str | None:
    flags = row[layout.flags]
    return flags.get(wire) if flags else None


def _identical(layout: Layout, stored: Row, row: Row) -> bool:
    """Values, flags and status all the same (no flags and empty flags alike)."""
    return all(
        (stored[i] or None) == (row[i] or None) if i == layout.flags else stored[i] == row[i]
        for i in layout.replaced
    )


def _compare(layout: Layout, stored: Row, row: Row) -> tuple[list[int], list[int]]:
    """The fields the reading carries with another value or flag than the stored row, and
    those it carries where the stored row has none."""
    differs, adds = [], []
    for i, wire, flagged in layout.fields:
        value = row[i]
        if value is None:
            continue
        if stored[i] is None:
            adds.append(i)
        elif value != stored[i] or (
            flagged and _flag(layout, row, wire) != _flag(layout, stored, wire)
        ):
            differs.append(i)
    return differs, adds


def _filled(layout: Layout, stored: Row, row: Row, adds: Iterable[int]) -> Row:
    """The stored row with the reading's values (and their flags) where it had none."""
    out = list(stored)
    flags = dict(stored[layout.flags] or {})
    wires = {i: (wire, flagged) for i, wire, flagged in layout.fields}
    for i in adds:
        out[i] = row[i]
        wire, flagged = wires[i]
        flag = _flag(layout, row, wire) if flagged else None
        if flag is not None:
            flags[wire] = flag
        elif flagged:  # a flag the stored row held for a value it did not have
            flags.pop(wire, None)
    out[layout.flags] = flags or None
    return tuple(out)


def _reason(layout: Layout, stored: Stored, row: Row, differs: list[int], adds: list[int]) -> str:
    wires = {i: (wire, flagged) for i, wire, flagged in layout.fields}

    def shown(r: Row, i: int) -> str:
        wire, flagged = wires[i]
        value = r[i]
        text = "none" if value is None else _text(value)
        flag = _flag(layout, r, wire) if flagged else None
        return text if flag is None else f"{text} (flag {flag})"

    site, *rest = (_text(v) for v in layout.key_of(row))
    at = ", ".join(f"{name} {v}" for name, v in zip(layout.key_names[1:], rest, strict=True))
    received = (
        "earlier in the same batch"
        if stored.received_at is None
        else f"at {stored.received_at.isoformat()}"
    )
    status = stored.row[layout.status]
    values = "; ".join(
        f"{wires[i][0]} stored {shown(stored.row, i)}, this reading {shown(row, i)}"
        for i in [*differs, *adds]
    )
    if status == AUDITED:
        advice = "an audited reading is changed only by another audited one"
    else:
        advice = 'send a correction with "status": "audited"'
    return (
        f"conflicts with the {status} reading of {site} at {at} stored {received}: {values}; "
        f"a preliminary reading never replaces a stored value ({advice})"
    )


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
