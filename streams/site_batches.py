"""Readings from many connections, gathered per site and sent as one batch message each.

A logger waits for its answer, so every reading is handed in with a future that resolves
once the broker has confirmed the message carrying it; only then may the gateway answer.
A batch goes out when the oldest reading in it has waited ``within_s`` or when ``max_items``
are waiting, whichever comes first.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson


class SiteBatches:
    def __init__(self, producer: Any, within_s: float, max_items: int) -> None:
        self._producer = producer
        self._within_s = within_s
        self._max_items = max_items
        self._pending: dict[tuple[str, str], list[tuple[Any, asyncio.Future[None]]]] = {}
        self._count = 0
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def send(self, topic: str, site: str, message: Any) -> None:
        """Returns when the broker has confirmed the batch holding ``message``; raises if not."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault((topic, site), []).append((message, done))
        self._count += 1
        if self._count >= self._max_items:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._within_s, self._flush)
        await done

    async def drain(self) -> None:
        """Send what is waiting and wait for every batch under way."""
        self._flush()
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        batches, self._pending, self._count = self._pending, {}, 0
        task = asyncio.get_running_loop().create_task(self._send(batches))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batches: dict[tuple[str, str], list[tuple[Any, asyncio.Future[None]]]]):
        sent: list[tuple[asyncio.Future[Any], list[asyncio.Future[None]]]] = []
        try:
            for (topic, site), items in batches.items():
                value = orjson.dumps([message for message, _ in items])
                confirmed = await self._producer.send(topic, value, key=site.encode())
                sent.append((confirmed, [done for _, done in items]))
        except Exception as exc:  # the producer refused: none of the unsent is confirmed
            for items in list(batches.values())[len(sent) :]:
                _settle([done for _, done in items], exc)
        for confirmed, waiting in sent:
            try:
                await confirmed
            except Exception as exc:
                _settle(waiting, exc)
            else:
                _settle(waiting, None)


def _settle(waiting: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for done in waiting:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
