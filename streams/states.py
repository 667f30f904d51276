"""One feed's site states: the Faust table is their one source; this keeps them decoded.

A site's state is read from the table once, when the worker first needs it (after a start
or a rebalance, Faust has recovered the table from its changelog), and then kept decoded
for as long as the worker owns the site's partition. A batch's new states are marked dirty
and reach the table and its changelog together at the next checkpoint, once per site
however many batches changed it (as Quix Streams checkpoints), partitioned like the feed
topic they came from, so that Faust hands a partition's states to whichever worker takes
the partition. Each record holds the partition beside the state: after a rebalance the
worker knows which states are its own without trusting any partitioner.

A checkpoint ends, on every changelog partition it wrote, with a record of its own (key
``CHECKPOINT_KEY``) naming the feed offset the states cover. Alone in its batch, it is also
what makes recovery complete on the embedded broker: Faust recovers a table up to the end
offset the broker reports, and the embedded broker reports the start of a partition's last
batch plus one, which is the true end only when that batch holds one record.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)
CHECKPOINT_KEY = b"\x00checkpoint"  # no site id starts with a control character
_encode_offset = msgspec.msgpack.Encoder().encode


def checkpoint_value(next_offset: int | None) -> bytes:
    """The checkpoint record: the next feed offset its partition's states cover (-1: none
    recorded)."""
    return _encode_offset(-1 if next_offset is None else next_offset)


class StateStore(Generic[S]):
    """A feed's site states: encoded in the table, and the ``cached`` most recently used
    ones kept decoded (a decoded state is several times the size of its record, and a
    province has many more sites than are active in any one batch)."""

    def __init__(
        self, table: Any, state_type: type[S], cached: int = 4096, changelog: Any = None
    ) -> None:
        self.table = table
        self._changelog = changelog
        self.state_type = state_type
        self.cached = cached
        self._decode = msgspec.msgpack.Decoder(tuple[int, state_type]).decode  # type: ignore[valid-type]
        self._encode = msgspec.msgpack.Encoder().encode
        self._states: OrderedDict[str, S] = OrderedDict()  # least recently used first
        self._partition: dict[str, int] = {}  # every owned site the worker has a state of
        self._dirty: set[str] = set()  # changed since the last checkpoint
        self.owned: set[int] = set()
        # Set once the partitions of an assignment are recovered, cleared when some are
        # revoked: Faust can hand over the first records of an assignment before its recovery
        # callbacks have run, and a batch judged then would find no partition owned.
        self.recovered = asyncio.Event()

    @property
    def changelog(self) -> Any:
        """Where the checkpoints send the records: the table's changelog topic (through the
        worker's own producer when it gives one)."""
        return self._changelog if self._changelog is not None else self.table.changelog_topic

    def get(self, site: str) -> S:
        """The site's state: kept, or read from the table, or new."""
        state = self._states.get(site)
        if state is not None:
            self._states.move_to_end(site)
            return state
        stored = self.table.data.get(site.encode())
        return self._decode(stored)[1] if stored else self.state_type()

    def put(self, site: str, state: S, partition: int) -> bool:
        """Keep a site's new state for the next checkpoint; False (and forgotten) when its
        partition is no longer this worker's (revoked while the batch was judged)."""
        if partition not in self.owned:
            return False
        self._keep(site, state)
        self._partition[site] = partition
        self._dirty.add(site)
        return True

    def checkpoint(self) -> list[tuple[bytes, bytes, int]]:
        """The dirty states as changelog records (key, value, partition), now in the table."""
        records = []
        data = self.table.data
        for site in self._dirty:
            key = site.encode()
            state = self._states.get(site)
            if state is not None:
                data[key] = self._encode((self._partition[site], state))
            records.append((key, data[key], self._partition[site]))
        self._dirty.clear()
        return records

    def unsent(self, records: Iterable[tuple[bytes, bytes, int]]) -> None:
        """Records a checkpoint could not deliver: their sites are dirty again."""
        for key, _, _ in records:
            site = key.decode()
            if site in self._partition:
                self._dirty.add(site)

    def recover(self, owned: set[int]) -> Iterator[tuple[str, S]]:
        """After a rebalance: the states of the partitions now owned, from the table."""
        self.owned = set(owned)
        self.recovered.set()
        for site in [s for s, p in self._partition.items() if p not in owned]:
            self._forget(site)
        for key, stored in list(self.table.data.items()):
            if key == CHECKPOINT_KEY:
                continue
            site = key.decode()
            state = self._states.get(site)
            if state is not None:
                yield site, state
                continue
            partition, state = self._decode(stored)
            if partition in owned:
                self._partition[site] = partition
                self._keep(site, state)
                yield site, state

    def revoke(self, partitions: Iterable[int]) -> list[str]:
        """Forget the sites of revoked partitions; returns them (their exports go too)."""
        gone = set(partitions)
        self.owned -= gone
        self.recovered.clear()
        sites = [s for s, p in self._partition.items() if p in gone]
        for site in sites:
            self._forget(site)
        return sites

    def _keep(self, site: str, state: S) -> None:
        states = self._states
        states[site] = state
        states.move_to_end(site)
        while len(states) > self.cached:
            old, old_state = states.popitem(last=False)
            if old in self._dirty:  # its record is made now; the checkpoint sends it
                self.table.data[old.encode()] = self._encode((self._partition[old], old_state))

    def _forget(self, site: str) -> None:
        self._states.pop(site, None)
        self._partition.pop(site, None)
        self._dirty.discard(site)
