"""A feed engine judges no batch of an assignment before its partitions are recovered.

Faust can hand over the first records of an assignment (the backlog that waited while the
worker joined) before the table's recovery callbacks have run; a batch judged then found no
partition owned, so its sites' states were dropped and nothing was exported for them.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from alerts.feeds.air import AirState
from streams.engine import Checkpointed
from streams.states import StateStore
from tests.support.engine import Record


class Probe(Checkpointed):
    """An engine that notes which partitions were owned when each batch was judged."""

    def __init__(self, store: StateStore[AirState]) -> None:
        self.store, self.lock, self.unconfirmed = store, asyncio.Lock(), []
        self.owned_when_judged: list[set[int]] = []

    async def _handle(self, records) -> int:
        self.owned_when_judged.append(set(self.store.owned))
        return len(records)


def test_a_batch_waits_for_the_recovery_of_its_assignment() -> None:
    async def scenario() -> None:
        store = StateStore(SimpleNamespace(data={}, changelog_topic=None), AirState)
        probe = Probe(store)
        records = [Record("air", 0, 0, b"air-yiwu-01", b"{}")]
        early = asyncio.ensure_future(probe.handle(records))
        await asyncio.sleep(0.05)
        assert not early.done(), "judged before the assignment was recovered"
        list(store.recover({0, 1}))
        assert await asyncio.wait_for(early, 1) == 1
        store.revoke({1})  # a rebalance: nothing is judged until the new assignment recovers
        during = asyncio.ensure_future(probe.handle(records))
        await asyncio.sleep(0.05)
        assert not during.done()
        list(store.recover({0}))
        assert await asyncio.wait_for(during, 1) == 1
        assert probe.owned_when_judged == [{0, 1}, {0}]

    asyncio.run(scenario())
