"""The energy feed: standard-coal equivalent, intensity against the unit's quota."""

from __future__ import annotations

from alerts.judge import judge_energy
from streams.judging import FeedSpec

SPEC = FeedSpec("energy", judge_energy)
