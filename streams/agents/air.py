"""The air feed: hourly AQI, the PM2.5 24-hour mean, pollution and sensor-fault alerts."""

from __future__ import annotations

from alerts.judge import judge_air
from streams.judging import FeedSpec

SPEC = FeedSpec("air", judge_air)
