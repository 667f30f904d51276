"""A soak: millions of readings through one worker, its RSS sampled every 10 s.

A worker that leaks grows with the readings it has handled, not with the sites it knows, so
the figure is RSS growth per million readings, fitted over the second half of the run: by
then every site's state has filled (its windows span a day of reading time, and 2 million
readings cover about four weeks of each site's), and what still grows is kept per reading.
The readings are the throughput runs' (the register's feed mix in batches of 60, sites taken
in turn so that each site's time moves forward), generated round by round and sent at most
two rounds ahead of the worker, so the broker never holds a backlog the worker could not
work off.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bench.kafka import produce
from bench.payloads import Message, feed_mix, site_messages, sites
from bench.stack import Process
from schemas.reference import Reference
from streams.settings import Settings

SAMPLE_S = 10.0
STALL_S = 120.0  # the worker storing nothing for this long ends the run with an error
ROUND = 500  # messages of a round: 30,000 readings at 60 a message
ROWS = "envwatch_rows_written_total"
READINGS = "envwatch_readings_consumed_total"


@dataclass(frozen=True)
class Sample:
    seconds: float
    readings: float  # consumed by the worker so far
    rss_bytes: int


@dataclass
class Soak:
    readings: int
    seconds: float
    samples: list[Sample]
    growth_bytes_per_million: float


def rounds(
    register: Reference, readings: int, per_message: int, start: datetime
) -> Iterator[list[Message]]:
    """Rounds of ``ROUND`` messages in the register's feed mix, about ``readings`` in all."""
    mix = feed_mix(register)
    by_feed = sites(register)
    total = -(-readings // per_message)
    streams = {feed: site_messages(by_feed[feed], total, per_message, start) for feed in mix}
    sent = 0
    while sent < total:
        size = min(ROUND, total - sent)
        batch: list[Message] = []
        for feed, share in mix.items():
            if feed != "air":
                batch.extend(itertools.islice(streams[feed], round(size * share)))
        batch.extend(itertools.islice(streams["air"], size - len(batch)))
        sent += len(batch)
        yield batch


def growth_per_million(samples: Sequence[Sample]) -> float:
    """Least-squares slope of RSS over readings, in bytes per million, over the second half."""
    if not samples:
        return 0.0
    half = samples[-1].readings / 2
    points = [(s.readings, s.rss_bytes) for s in samples if s.readings >= half]
    if len(points) < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return sxy / sxx * 1e6 if sxx else 0.0


async def measure(
    settings: Settings,
    worker: Process,
    register: Reference,
    start: datetime,
    readings: int,
    per_message: int,
) -> Soak:
    samples: list[Sample] = []
    began = time.perf_counter()

    async def sample() -> None:
        counted = await asyncio.to_thread(worker.metric, READINGS)
        samples.append(Sample(time.perf_counter() - began, counted, worker.rss_bytes()))

    async def sampler() -> None:
        while True:
            await sample()
            await asyncio.sleep(SAMPLE_S)

    sampling = asyncio.create_task(sampler())
    made = rounds(register, readings, per_message, start)
    rows_sent = rows_ahead = sent = 0
    try:
        while batch := await asyncio.to_thread(next, made, None):
            await produce(settings, batch)
            sent += sum(m.readings for m in batch)
            rows_sent += sum(m.rows for m in batch)
            # At most two rounds ahead: wait for the round before this one to be stored.
            await _wait_rows(worker, rows_sent - rows_ahead)
            rows_ahead = sum(m.rows for m in batch)
        await _wait_rows(worker, rows_sent)
        await sample()
    finally:
        sampling.cancel()
    return Soak(sent, time.perf_counter() - began, samples, growth_per_million(samples))


def figures(soak: Soak) -> dict[str, Any]:
    """The run's entries in the benchmark's results."""
    rss = [s.rss_bytes for s in soak.samples]
    return {
        "soak_readings": soak.readings,
        "soak_seconds": round(soak.seconds),
        "soak_readings_s": soak.readings / soak.seconds,
        "soak_rss_growth_bytes_per_million": soak.growth_bytes_per_million,
        "soak_rss_bytes": {"first": rss[0], "last": rss[-1], "max": max(rss)},
        "soak_samples": [[round(s.seconds, 1), s.readings, s.rss_bytes] for s in soak.samples],
    }


async def _wait_rows(worker: Process, target: float) -> None:
    last, moved = -1.0, time.monotonic()
    while (rows := await asyncio.to_thread(worker.metric, ROWS)) < target:
        if rows != last:
            last, moved = rows, time.monotonic()
        elif time.monotonic() - moved > STALL_S:
            raise RuntimeError(f"soak: the worker stored nothing for {STALL_S:.0f} s")
        await asyncio.sleep(0.5)
