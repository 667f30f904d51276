"""Worker memory per site: RSS as state for 1k, 10k and 100k air stations accumulates.

The worker runs on a generated register of 100k stations. Each station sends one message of
``hours`` hourly readings, which fills its state as a day of operation would (the day's hourly
values, recent values for the sensor checks, the moving-average windows) and its exported
series. RSS is read from /proc after each step, once every row of the step is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bench.payloads import Site, site_messages
from bench.runs import timed
from bench.stack import Process
from streams.settings import Settings

STEPS = (1_000, 10_000, 100_000)
PARAMETERS = 6  # an air station's pollutants: the state holds each one's values


@dataclass
class Memory:
    baseline_bytes: int
    rss_bytes: dict[int, int]  # sites with state -> RSS
    bytes_per_site_param: float  # marginal: from the 10k to the 100k step
    readings_s: float  # of the whole run, for the record


async def measure(
    settings: Settings, worker: Process, stations: list[Site], start: datetime, hours: int
) -> Memory:
    warm = _messages(stations[:100], hours, start)
    await timed(settings, [worker], "envwatch_rows_written_total", warm, sum(m.rows for m in warm))
    baseline = worker.rss_bytes()
    rss: dict[int, int] = {}
    done, readings, seconds = 100, 0, 0.0
    for step in STEPS:
        run = _messages(stations[done:step], hours, start)
        result = await timed(
            settings, [worker], "envwatch_rows_written_total", run, sum(m.rows for m in run)
        )
        readings += sum(m.readings for m in run)
        seconds += result.seconds
        rss[step] = worker.rss_bytes()
        done = step
    marginal = (rss[STEPS[-1]] - rss[STEPS[-2]]) / ((STEPS[-1] - STEPS[-2]) * PARAMETERS)
    return Memory(baseline, rss, marginal, readings / seconds)


def _messages(stations: list[Site], hours: int, start: datetime) -> list:
    return list(site_messages(stations, len(stations), hours, start))
