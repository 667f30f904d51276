"""Offsets, pure: which delivered records of a partition are new, which are missing, and how
far each partition is stored without a gap (the offset a worker may commit).

The topics the agents read are plain logs (no compaction, no transactions), so their offsets
are contiguous: an offset skipped between the next expected one and a delivered record is a
record lost on the way from the fetch to the agent, never a hole in the log. That happens
around a rebalance, when Faust clears its stream queues after records were fetched; Faust
would then commit over the gap. So the worker never trusts the delivery: it reads what is
missing again, and commits only the stored prefix of each partition.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

R = TypeVar("R")


@dataclass(frozen=True)
class Arranged(Generic[R]):
    """One partition's delivered records, sorted out against the next offset to store."""

    fresh: list[R]  # offset >= next, each offset once, in offset order
    missing: list[range]  # offsets in [next, last fresh offset] that were not delivered
    redelivered: int  # records dropped: below next (stored already) or a second copy


def arrange(next_offset: int, records: Iterable[R], offset: Callable[[R], int]) -> Arranged[R]:
    by_offset: dict[int, R] = {}
    delivered = 0
    for record in records:
        delivered += 1
        at = offset(record)
        if at >= next_offset and at not in by_offset:
            by_offset[at] = record
    fresh = [by_offset[at] for at in sorted(by_offset)]
    missing: list[range] = []
    expected = next_offset
    for at in sorted(by_offset):
        if at > expected:
            missing.append(range(expected, at))
        expected = at + 1
    return Arranged(fresh, missing, delivered - len(fresh))


class Frontier:
    """Per partition this worker owns: the next offset to store, and the last one committed.

    A partition is known from the first batch after it was assigned (started at the offset
    committed in the broker) until it is revoked (forgotten).
    """

    def __init__(self) -> None:
        self._next: dict[Hashable, int] = {}
        self._committed: dict[Hashable, int] = {}

    def knows(self, tp: Hashable) -> bool:
        return tp in self._next

    def start(self, tp: Hashable, committed: int) -> None:
        self._next[tp] = committed
        self._committed[tp] = committed

    def next(self, tp: Hashable) -> int:
        return self._next[tp]

    def stored(self, tp: Hashable, offsets: Sequence[int]) -> None:
        """``offsets``, contiguous and in order, are stored. The frontier moves only if they
        start at or before it: a batch that began before a revoke and ended after the
        partition came back must not carry it over offsets nobody stored."""
        at = self._next.get(tp)
        if at is not None and offsets and offsets[0] <= at <= offsets[-1]:
            self._next[tp] = offsets[-1] + 1

    def uncommitted(self) -> dict[Hashable, int]:
        return {tp: at for tp, at in self._next.items() if at != self._committed.get(tp)}

    def committed(self, offsets: Mapping[Hashable, int]) -> None:
        for tp, at in offsets.items():
            if tp in self._committed:
                self._committed[tp] = at

    def committed_offset(self, tp: Hashable) -> int | None:
        return self._committed.get(tp)

    def forget(self, tps: Iterable[Hashable]) -> None:
        for tp in tps:
            self._next.pop(tp, None)
            self._committed.pop(tp, None)
