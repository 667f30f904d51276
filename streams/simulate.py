"""The simulator's model: which readings every site sends in a stretch of simulated time.

Pure: no Kafka, no clock, no I/O (``streams/simulate_run.py`` drives it). Each site reports at
multiples of its ``interval_s`` counted from local midnight, China Standard Time (UTC+8, no
daylight saving). A reading's time is the end of its period (a feed with two timestamps, as
energy's, covers ``[end - interval, end)``) and falls due then. Every value is a pure
function of (seed, site, step), so the output for a time range does not depend on how the range
is chunked. Payloads are JSON-ready dicts with the wire names of the feed structs
(``schemas/feeds``).

Each feed's physics is a module named after it, ``streams/simulate_<feed>.py``, found through
the registry: its ``values(world, site, step)`` gives one reading's unrounded values, its
``DECIMALS`` how instruments round them, and its ``FLATLINE`` and ``SPIKES`` which quantities
the instrument faults of ``simulate_faults`` hit. A feed without such a module is not
simulated. The hashed randomness is in ``simulate_random``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib import import_module
from types import ModuleType
from typing import Any

from schemas.feeds import FEEDS
from schemas.reference import County, Reference
from streams.simulate_faults import FaultRates, Faults
from streams.simulate_random import Noise

CST = timezone(timedelta(hours=8))
LOCAL_EPOCH = datetime(1970, 1, 1, tzinfo=CST)
Reading = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Episode and fault rates; the defaults give a realistic mix for a demo or a test."""

    haze_rate: float = 1.0  # multiplies the seasonal chance of a haze episode
    water_events_per_year: float = 4.0  # degradation events per section per year
    plant_upsets_per_year: float = 6.0  # process upsets per wastewater plant per year
    faults: FaultRates = field(default_factory=FaultRates)

    @classmethod
    def without_faults(cls, **overrides: Any) -> SimConfig:
        """The same world with perfect instruments: the ground truth behind a faulty feed."""
        return cls(
            faults=FaultRates(silence_per_day=0, flatline_per_day=0, spike_rate=0), **overrides
        )


@dataclass(frozen=True, slots=True)
class World:
    """What every feed's physics draws on: the randomness, the rates, the city's counties."""

    noise: Noise
    config: SimConfig
    counties: tuple[County, ...]  # by code

    def moment(self, site: Any, step: int) -> tuple[float, datetime]:
        """(hours since the local epoch, local time) of the end of a site's ``step``-th period."""
        seconds = step * site.interval_s
        return seconds / 3600, LOCAL_EPOCH + timedelta(seconds=seconds)

    @staticmethod
    def local(hours: float) -> datetime:
        """The local time ``hours`` after the local epoch."""
        return LOCAL_EPOCH + timedelta(hours=hours)


def physics(feed: str) -> ModuleType | None:
    """The feed's physics module, ``streams.simulate_<feed>``; None if it has none."""
    name = f"{__package__}.simulate_{feed}"
    try:
        return import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


# Physical range of every measured quantity of each feed, keyed by wire name.
BOUNDS = {name: {q.wire: (q.lo, q.hi) for q in feed.quantities} for name, feed in FEEDS.items()}


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"simulated time must be timezone-aware, got {when!r}")
    return when


class Simulator:
    """Readings of every registered site of a feed with physics, deterministic for a seed."""

    def __init__(self, reference: Reference, seed: int, config: SimConfig | None = None) -> None:
        self.reference, self.seed = reference, seed
        self.config = config or SimConfig()
        counties = sorted(reference.counties.values(), key=lambda c: c.code)
        self.world = World(Noise(seed), self.config, tuple(counties))
        self.faults = Faults(self.world.noise, self.config.faults)
        found = {feed: physics(feed) for feed in FEEDS}
        self.physics: Mapping[str, ModuleType] = {f: m for f, m in found.items() if m}
        self._sites = [
            (feed, site) for feed in self.physics for site in reference.sites(feed).values()
        ]  # fmt: skip

    def readings_between(self, start: datetime, end: datetime) -> list[Reading]:
        """(feed, site_id, payload) of every reading due in [start, end), in time order."""
        start, end = _aware(start), _aware(end)
        due = []
        for feed, site in self._sites:
            interval = timedelta(seconds=site.interval_s)
            first = -((LOCAL_EPOCH - start) // interval)  # ceiling division
            last = -((LOCAL_EPOCH - end) // interval)
            for step in range(first, last):
                payload = self.reading(feed, site.id, step)
                if payload is not None:
                    due.append((step * site.interval_s, feed, site.id, payload))
        due.sort(key=lambda r: r[:3])
        return [(feed, site_id, payload) for _, feed, site_id, payload in due]

    def reading(self, feed: str, site_id: str, step: int) -> dict[str, Any] | None:
        """A site's ``step``-th reading since the local epoch, faults applied; None if silent."""
        site = self.reference.site(feed, site_id)
        if self.faults.silent(site_id, step, site.interval_s):
            return None
        model = self.physics[feed]
        values = model.values(self.world, site, step)
        since, stuck = self.faults.stuck_since(model.FLATLINE, site_id, step, site.interval_s)
        if stuck:
            values[stuck] = model.values(self.world, site, since)[stuck]
        spike = self.faults.spike(model.SPIKES, site_id, step)
        if spike and spike[0] in values and spike[0] != stuck:
            values[spike[0]] *= spike[1]
        return self._payload(feed, site, step, values)

    def _payload(self, feed: str, site: Any, step: int, values: dict[str, Any]) -> dict:
        """The reading's message: its site, its time(s), its values as instruments round
        them within their physical range, and whatever else its physics says (air's period)."""
        end = LOCAL_EPOCH + timedelta(seconds=step * site.interval_s)
        contract = FEEDS[feed]
        payload: dict[str, Any] = {contract.site_field: site.id}
        times = [c.attr for c in contract.columns if c.kind == "time"]
        if len(times) == 2:  # a period: its start and its end
            payload[times[0]] = (end - timedelta(seconds=site.interval_s)).isoformat()
        payload[times[-1]] = end.isoformat()
        bounds, decimals = BOUNDS[feed], self.physics[feed].DECIMALS
        for name, value in values.items():
            if name in bounds:
                lo, hi = bounds[name]
                value = min(max(round(value, decimals.get(name, 3)), lo), hi)
            payload[name] = value
        return payload
