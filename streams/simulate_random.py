"""Randomness for the simulator as a pure function of (seed, key, step).

Nothing here keeps a sequential random state: every draw hashes its own coordinates, so the
value at one site and moment is the same however the simulated time range is cut into
chunks, in whatever order sites are visited. Episodes (haze, pollution events, sensor faults)
are drawn per block of steps, so finding the one covering a step needs two hashes, not a scan.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

_STD = NormalDist()
_SCALE = 1.0 / 2**64


@lru_cache(maxsize=1 << 16)
def _uniforms(seed: int, key: str) -> tuple[float, ...]:
    """Eight independent uniforms in [0, 1) from one 64-byte hash."""
    digest = hashlib.blake2b(f"{seed}|{key}".encode(), digest_size=64).digest()
    return tuple(int.from_bytes(digest[i : i + 8], "little") * _SCALE for i in range(0, 64, 8))


@lru_cache(maxsize=1 << 16)
def _gauss(seed: int, key: str) -> float:
    u = _uniforms(seed, key)[0]
    return _STD.inv_cdf(min(max(u, 1e-12), 1.0 - 1e-12))


@dataclass(frozen=True, slots=True)
class Episode:
    """A stretch of ``length`` steps from ``start``; ``u`` are its own uniforms (size, kind...)."""

    start: int
    length: int
    u: tuple[float, ...]

    def envelope(self, step: float, rise: float, fall: float) -> float:
        """0..1 trapezoid: ramps up over the first ``rise`` share, down over the last ``fall``."""
        x = (step - self.start + 0.5) / self.length
        if not 0.0 <= x <= 1.0:
            return 0.0
        return max(0.0, min(1.0, x / rise if rise else 1.0, (1.0 - x) / fall if fall else 1.0))


Sizes = tuple[float, float, float]  # of a drift's slow and fast wander and its scatter


class Noise:
    """Deterministic draws for one simulator seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def uniforms(self, *key: object) -> tuple[float, ...]:
        return _uniforms(self.seed, "|".join(map(str, key)))

    def uniform(self, *key: object) -> float:
        return self.uniforms(*key)[0]

    def gauss(self, *key: object) -> float:
        """A standard normal draw."""
        return _gauss(self.seed, "|".join(map(str, key)))

    def smooth(self, key: str, t: float, scale: float) -> float:
        """Standard normal noise drifting smoothly over ``scale`` units of ``t`` (value noise)."""
        k = math.floor(t / scale)
        f = t / scale - k
        s = f * f * (3.0 - 2.0 * f)
        a, b = _gauss(self.seed, f"{key}|knot|{k}"), _gauss(self.seed, f"{key}|knot|{k + 1}")
        return (a * (1.0 - s) + b * s) / math.hypot(1.0 - s, s)  # keep unit variance

    def drift(
        self, key: str, t: float, white: float, scales: tuple[float, float], sizes: Sizes
    ) -> float:
        """A factor wandering around 1: slow and fast smooth noise over ``scales`` units of
        ``t``, and a scatter of ``white`` (a uniform draw), each of its size in ``sizes``."""
        slow = self.smooth(f"{key}|slow", t, scales[0])
        fast = self.smooth(f"{key}|fast", t, scales[1])
        return math.exp(sizes[0] * slow + sizes[1] * fast + sizes[2] * (2.0 * white - 1.0))

    def episodes(
        self,
        key: str,
        step: int,
        chance: float | Callable[[int], float],
        min_len: int,
        max_len: int,
    ) -> list[Episode]:
        """Episodes covering ``step``. ``chance`` is the expected starts per step (a number, or a
        function of the block's first step for seasonal rates); lengths are uniform in
        [min_len, max_len]. At most one episode starts per block of ``max_len`` steps."""
        found = []
        block = max(max_len, 1)
        for b in (step // block, step // block - 1):
            per_step = chance(b * block) if callable(chance) else chance
            u = self.uniforms(key, "episode", b)
            if u[0] >= per_step * block:
                continue
            start = b * block + int(u[1] * block)
            length = min_len + int(u[2] * (max_len - min_len + 1))
            if start <= step < start + length:
                found.append(Episode(start, length, u[3:]))
        return found
