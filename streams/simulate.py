"""The simulator's model: which readings every site sends in a stretch of simulated time.

Pure: no Kafka, no clock, no I/O (``streams/simulate_run.py`` drives it). Each site reports at
multiples of its ``interval_s`` counted from local midnight, China Standard Time (UTC+8, no
daylight saving). An air reading's ``ts`` is the end of its hour; an energy reading covers
``[period_end - interval, period_end)`` and falls due at ``period_end``. Every value is a pure
function of (seed, site, step), so the output for a time range does not depend on how the range
is chunked. Payloads are JSON-ready dicts with the wire names of the feed structs
(``schemas/feeds``).

The physics lives in ``simulate_air``, ``simulate_water`` and ``simulate_energy``; faults in
``simulate_faults``; the hashed randomness in ``simulate_random``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from schemas.feeds import FEEDS
from schemas.feeds.air import Station
from schemas.feeds.water import Section
from schemas.reference import Reference
from streams.simulate_air import Haze, air_values
from streams.simulate_energy import energy_values
from streams.simulate_faults import FaultRates, Faults
from streams.simulate_random import Noise
from streams.simulate_water import water_values

CST = timezone(timedelta(hours=8))
LOCAL_EPOCH = datetime(1970, 1, 1, tzinfo=CST)
# Decimal places as instruments and meters report them.
DECIMALS = {
    "pm25": 1, "pm10": 1, "so2": 1, "no2": 1, "o3": 1, "co": 3,
    "ph": 2, "do": 2, "codmn": 2, "nh3n": 3, "tp": 3, "tn": 2, "temp": 1,
    "electricity_kwh": 0, "natural_gas_m3": 0, "heat_gj": 1, "output_10k_yuan": 1,
}  # fmt: skip
Reading = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Episode and fault rates; the defaults give a realistic mix for a demo or a test."""

    haze_rate: float = 1.0  # multiplies the seasonal chance of a haze episode
    water_events_per_year: float = 4.0  # degradation events per section per year
    faults: FaultRates = field(default_factory=FaultRates)

    @classmethod
    def without_faults(cls, **overrides: Any) -> SimConfig:
        """The same world with perfect instruments: the ground truth behind a faulty feed."""
        return cls(
            faults=FaultRates(silence_per_day=0, flatline_per_day=0, spike_rate=0), **overrides
        )


# Physical range of every measured quantity of each feed, keyed by wire name.
BOUNDS = {name: {q.wire: (q.lo, q.hi) for q in feed.quantities} for name, feed in FEEDS.items()}


def _month_of_hour(hour: int) -> int:
    return (LOCAL_EPOCH + timedelta(hours=hour)).month


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"simulated time must be timezone-aware, got {when!r}")
    return when


class Simulator:
    """Readings of every registered site, deterministic for a seed."""

    def __init__(self, reference: Reference, seed: int, config: SimConfig | None = None) -> None:
        self.reference, self.seed = reference, seed
        self.config = config or SimConfig()
        self.noise = Noise(seed)
        self.faults = Faults(self.noise, self.config.faults)
        counties = sorted(reference.counties.values(), key=lambda c: c.code)
        self.haze = Haze(self.noise, counties, self.config.haze_rate, _month_of_hour)
        self._sites = [
            (feed, site) for feed in FEEDS for site in reference.sites(feed).values()
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
        values = self._values(site, step)
        since, stuck = self.faults.stuck_since(feed, site_id, step, site.interval_s)
        if stuck:
            values[stuck] = self._values(site, since)[stuck]
        spike = self.faults.spike(feed, site_id, step)
        if spike and spike[0] in values and spike[0] != stuck:
            values[spike[0]] *= spike[1]
        return self._payload(feed, site, step, values)

    def _values(self, site: Any, step: int) -> dict[str, float]:
        """Clean (fault-free, unrounded) values of one reading."""
        seconds = step * site.interval_s
        hours, local = seconds / 3600, LOCAL_EPOCH + timedelta(seconds=seconds)
        if isinstance(site, Station):
            boost = self.haze.boost(site, math.floor(hours))
            return air_values(self.noise, site, hours, local, boost)
        if isinstance(site, Section):
            events = self.config.water_events_per_year
            return water_values(self.noise, site, hours, local, events)
        day = (local - timedelta(seconds=site.interval_s)).date()  # the metered period's day
        per_day = energy_values(self.noise, site, day)
        return {k: v * site.interval_s / 86400 for k, v in per_day.items()}

    def _payload(self, feed: str, site: Any, step: int, values: dict[str, float]) -> dict:
        end = LOCAL_EPOCH + timedelta(seconds=step * site.interval_s)
        payload: dict[str, Any] = {FEEDS[feed].site_field: site.id}
        if feed == "energy":
            start = end - timedelta(seconds=site.interval_s)
            payload |= {"period_start": start.isoformat(), "period_end": end.isoformat()}
        else:
            payload["ts"] = end.isoformat()
        if feed == "air":
            payload["period"] = "1h"
        for name, value in values.items():
            lo, hi = BOUNDS[feed][name]
            payload[name] = min(max(round(value, DECIMALS.get(name, 3)), lo), hi)
        return payload
