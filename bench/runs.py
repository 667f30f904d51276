"""Timing a consumer process (worker or bare agent) over a set of messages, by counting.

A run first warms the processes up (group joined, partitions split, first fetches done) with
a few messages, then sends the measured messages and times from the first send until the
processes' own counter has grown by the expected amount. Nothing waits a fixed time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.kafka import produce
from bench.payloads import Message
from bench.stack import Process
from streams.settings import Settings

# Each poll is an HTTP request the measured worker serves on its own CPU (a thread per
# request); a quarter second keeps that interference small, at most 0.25 s of timing error.
POLL_S = 0.25


@dataclass
class Timed:
    seconds: float
    counted: float  # growth of the counter during the run
    per_process: list[float]

    def rate(self, amount: float) -> float:
        return amount / self.seconds


def total(processes: Sequence[Process], counter: str) -> list[float]:
    return [p.metric(counter) for p in processes]


async def _wait_count(
    processes: Sequence[Process], counter: str, target: float, timeout_s: float
) -> list[float]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            counts = await asyncio.to_thread(total, processes, counter)
        except OSError:  # a busy worker may answer a scrape late; ask again
            counts = [0.0]
        if sum(counts) >= target:
            return counts
        if time.monotonic() > deadline:
            raise TimeoutError(f"{counter}: {sum(counts)} of {target} after {timeout_s:.0f} s")
        await asyncio.sleep(POLL_S)


async def warm_up(
    settings: Settings,
    processes: Sequence[Process],
    counter: str,
    rounds: Sequence[Sequence[Message]],
    amount: Callable[[Message], int],
) -> None:
    """Send warm-up rounds until every process has counted some and all are counted."""
    sent = 0
    for batch in rounds:
        before = sum(total(processes, counter))
        await produce(settings, batch)
        sent += len(batch)
        counts = await _wait_count(processes, counter, before + sum(map(amount, batch)), 120)
        if all(c > 0 for c in counts):
            return
    raise RuntimeError(f"warm-up: some process counted nothing after {sent} messages")


async def timed(
    settings: Settings,
    processes: Sequence[Process],
    counter: str,
    messages: Sequence[Message],
    expected: float,
    timeout_s: float = 240,
) -> Timed:
    """Send ``messages`` and time until ``counter`` has grown by ``expected``."""
    before = await asyncio.to_thread(total, processes, counter)
    started = time.perf_counter()
    sending = asyncio.create_task(produce(settings, messages))
    counts = await _wait_count(processes, counter, sum(before) + expected, timeout_s)
    seconds = time.perf_counter() - started
    await sending
    grown = [after - b for after, b in zip(counts, before, strict=True)]
    return Timed(seconds, sum(grown), grown)
