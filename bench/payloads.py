"""Benchmark messages: the simulator's readings, spread over a register of cloned sites.

The shipped register has a few dozen sites; a benchmark needs thousands of keys. A generated
register holds ``clones`` copies of every shipped site (same county, class and interval, id
``<id>-b<n>``), and a clone's readings are the simulator's readings of its original, so values,
feed mix and faults stay realistic while the keys spread over all partitions.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import orjson

from schemas.feeds import FEEDS
from schemas.reference import DEFAULT_DIR, Reference, load_reference
from streams.simulate import LOCAL_EPOCH, Simulator

SEED = 20240601


def clone_id(site_id: str, n: int) -> str:
    return f"{site_id}-b{n}"


def write_register(directory: Path, clones: dict[str, int]) -> Path:
    """A register with ``clones[feed]`` copies of each shipped site of the feed (and none of
    the originals); counties are the shipped ones."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "counties.csv").write_bytes((DEFAULT_DIR / "counties.csv").read_bytes())
    for feed, name in ((f.name, f.register) for f in FEEDS.values()):
        with (DEFAULT_DIR / name).open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            header, rows = reader.fieldnames or [], list(reader)
        with (directory / name).open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, header)
            writer.writeheader()
            for n in range(clones.get(feed, 0)):
                for row in rows:
                    writer.writerow(row | {"id": clone_id(row["id"], n)} | _clone_mn(row, n))
    return directory


def _clone_mn(row: dict[str, str], n: int) -> dict[str, str]:
    """A clone's logger MN, unique across the register: the original's with the clone number
    in the serial part."""
    mn = row.get("mn")
    return {"mn": f"{mn[:8]}{n:06X}{mn[14:]}"} if mn else {}


@dataclass(frozen=True)
class Site:
    feed: str
    original: str
    id: str
    interval_s: int


def sites(register: Reference) -> dict[str, list[Site]]:
    out: dict[str, list[Site]] = {}
    for feed in FEEDS:
        out[feed] = [
            Site(feed, s.id.rsplit("-b", 1)[0], s.id, s.interval_s)
            for s in register.sites(feed).values()
        ]
    return out


@cache
def _simulator() -> Simulator:
    return Simulator(load_reference(), SEED)


@lru_cache(maxsize=200_000)
def _original(feed: str, original: str, step: int) -> dict[str, Any] | None:
    # Clones share their original's readings: simulate each (site, step) once.
    return _simulator().reading(feed, original, step)


def reading(site: Site, step: int) -> dict[str, Any]:
    """The ``step``-th reading of a cloned site (never silent: a silent step is skipped)."""
    while True:
        payload = _original(site.feed, site.original, step)
        if payload is not None:
            return payload | {FEEDS[site.feed].site_field: site.id}
        step += 1


def first_step(site: Site, start: datetime) -> int:
    return int((start - LOCAL_EPOCH) // timedelta(seconds=site.interval_s))


def feed_mix(register: Reference) -> dict[str, float]:
    """Each feed's share of the readings a register produces per day."""
    per_day = {
        feed: sum(86400 / s.interval_s for s in register.sites(feed).values()) for feed in FEEDS
    }
    total = sum(per_day.values())
    return {feed: n / total for feed, n in per_day.items()}


@dataclass
class Message:
    feed: str
    key: bytes
    value: bytes
    readings: int
    rows: int  # rows it stores: one per reading


def messages(register: Reference, count: int, per_message: int, start: datetime) -> list[Message]:
    """``count`` messages of ``per_message`` consecutive readings of one site each, feeds in
    the register's mix, sites taken in turn so each site's readings stay in time order."""
    mix = feed_mix(register)
    by_feed = sites(register)
    out: list[Message] = []
    for feed, share in mix.items():
        n = round(count * share) if feed != "air" else 0
        out.extend(site_messages(by_feed[feed], n, per_message, start))
    out.extend(site_messages(by_feed["air"], count - len(out), per_message, start))
    return out


def site_messages(
    feed_sites: list[Site], count: int, per_message: int, start: datetime
) -> Iterator[Message]:
    steps = {s.id: first_step(s, start) for s in feed_sites}
    for site in itertools.islice(itertools.cycle(feed_sites), count):
        payloads = []
        for _ in range(per_message):
            steps[site.id] += 1
            payloads.append(reading(site, steps[site.id]))
            steps[site.id] = _step_of(site, payloads[-1])
        value = orjson.dumps(payloads[0] if per_message == 1 else payloads)
        yield Message(site.feed, site.id.encode(), value, per_message, per_message)


def _step_of(site: Site, payload: dict[str, Any]) -> int:
    at = payload.get("ts") or payload["period_end"]
    return first_step(site, datetime.fromisoformat(at))
