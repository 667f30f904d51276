"""Drive the simulator in (accelerated) time and publish its readings to the feed topics.

Simulated time runs ``speed`` times faster than the wall clock from ``start`` and never
passes the present, so a past year replays in minutes and then the feed goes on live.
Readings due in one step are grouped per site into one batch message, keyed by site.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from schemas.feeds import FEEDS
from streams.settings import Settings
from streams.simulate import Simulator
from streams.topics import feed_topic

log = logging.getLogger(__name__)


def group_by_site(due: list[tuple[str, str, dict[str, Any]]]) -> dict[tuple[str, str], list[Any]]:
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for feed, site, payload in due:
        groups[(feed, site)].append(payload)
    return groups


def run_simulation(
    settings: Settings,
    simulator: Simulator,
    producer: Any,
    start: datetime,
    speed: float,
    rate: float,
    until: datetime | None = None,
    step_s: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Publish until ``until`` (simulated) or forever; returns messages sent."""
    topics = {feed: feed_topic(settings, feed) for feed in FEEDS}
    began, sent, sim_from = clock(), 0, start
    while until is None or sim_from < until:
        time.sleep(step_s)
        sim_to = min(start + timedelta(seconds=(clock() - began) * speed), datetime.now(UTC))
        if until is not None:
            sim_to = min(sim_to, until)
        if sim_to <= sim_from:
            continue
        for (feed, site), payloads in group_by_site(
            simulator.readings_between(sim_from, sim_to)
        ).items():
            value = orjson.dumps(payloads[0] if len(payloads) == 1 else payloads)
            producer.send(topics[feed], key=site.encode(), value=value)
            sent += 1
            if rate > 0 and sent % max(int(rate // 10), 1) == 0:
                _pace(sent, rate, began, clock)
        sim_from = sim_to
    producer.flush()
    return sent


def _pace(sent: int, rate: float, began: float, clock: Callable[[], float]) -> None:
    """Hold the message rate at ``rate`` per second on average."""
    ahead = sent / rate - (clock() - began)
    if ahead > 0:
        time.sleep(ahead)
