"""Instrument faults the pipeline has to notice: silence, flat-lining and spikes.

- silence: the site sends nothing for some hours (power cut, modem down);
- flat-lining: one analyser repeats the same value (a stuck sensor or a frozen data logger);
- spike: one absurd but physically possible value (a bubble in a water line, a dusty inlet).

Faults are drawn per site and step from their own keys, so turning them off leaves every
clean value unchanged: a fault-free simulator with the same seed is the ground truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from streams.simulate_random import Noise

# A spike: the quantity it hits and the range of its multiple of the true value. Which
# quantities faults hit is each feed's physics' (its FLATLINE and SPIKES).
Spike = tuple[str, float, float]


@dataclass(frozen=True, slots=True)
class FaultRates:
    """How often each fault occurs. Outages and stuck sensors are counted per site per day."""

    silence_per_day: float = 0.02
    silence_hours: tuple[float, float] = (2.0, 12.0)
    flatline_per_day: float = 0.01
    flatline_hours: tuple[float, float] = (4.0, 24.0)
    spike_rate: float = 0.002  # share of readings with one spiked quantity


def _steps(hours: tuple[float, float], interval_s: int, least: int) -> tuple[int, int]:
    lo, hi = (max(least, math.ceil(h * 3600 / interval_s)) for h in hours)
    return lo, max(lo, hi)


class Faults:
    def __init__(self, noise: Noise, rates: FaultRates) -> None:
        self.noise, self.rates = noise, rates

    def silent(self, site_id: str, step: int, interval_s: int) -> bool:
        chance = self.rates.silence_per_day * interval_s / 86400
        lo, hi = _steps(self.rates.silence_hours, interval_s, 1)
        return bool(chance and self.noise.episodes(f"{site_id}|silence", step, chance, lo, hi))

    def stuck_since(
        self, fields: Sequence[str], site_id: str, step: int, interval_s: int
    ) -> tuple[int, str]:
        """(first step, field) of a flat-line of one of ``fields`` covering ``step``, or
        (step, "") if none.

        The first step of the episode carries the true value; the later ones repeat it."""
        chance = self.rates.flatline_per_day * interval_s / 86400
        lo, hi = _steps(self.rates.flatline_hours, interval_s, 2)
        if chance and fields:
            for ep in self.noise.episodes(f"{site_id}|flatline", step, chance, lo, hi):
                return ep.start, fields[int(ep.u[0] * len(fields))]
        return step, ""

    def spike(self, spikes: Sequence[Spike], site_id: str, step: int) -> tuple[str, float] | None:
        """(field, multiple) when this reading carries a spike of one of ``spikes``."""
        u = self.noise.uniforms(site_id, "spike", step)
        if u[0] >= self.rates.spike_rate or not spikes:
            return None
        field, lo, hi = spikes[int(u[1] * len(spikes))]
        return field, lo + (hi - lo) * u[2]
