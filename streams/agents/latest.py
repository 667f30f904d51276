"""The latest value of each parameter at each site, exported as gauges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from schemas.models import EnergyReading, Reading
from streams.pipeline import Pipeline
from streams.rows import rows_of


def record_latest(pipeline: Pipeline, feed: str, readings: Sequence[Reading]) -> None:
    """Only the newest reading of a site in the batch is exported; older ones are history."""
    newest: dict[str, Reading] = {}
    for reading in readings:
        current = newest.get(reading.site())
        if current is None or _when(reading) >= _when(current):
            newest[reading.site()] = reading
    metrics = pipeline.metrics
    for site, reading in newest.items():
        county = pipeline.county_of(feed, site)
        metrics.last_seen.labels(feed, site, county).set(_when(reading).timestamp())
        for _, _, _, parameter, value, _ in rows_of(feed, reading):
            metrics.value.labels(feed, site, county, parameter).set(value)


def _when(reading: Reading) -> datetime:
    return reading.period_end if isinstance(reading, EnergyReading) else reading.ts
