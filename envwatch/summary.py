"""The live one-line summary of ``envwatch run``, read from the worker's own metrics."""

from __future__ import annotations

import time
import urllib.request
from collections import defaultdict
from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families


def answers(url: str) -> bool:
    """Whether a metrics endpoint is up (a process serving it has started)."""
    try:
        urllib.request.urlopen(url, timeout=1).close()
    except OSError:
        return False
    return True


def scrape(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Metric sample name -> {sorted labels: value}."""
    with urllib.request.urlopen(url, timeout=2) as response:
        text = response.read().decode()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
    return samples


class Summary:
    def __init__(self, url: str) -> None:
        self.url = url
        self._last: tuple[float, float] | None = None

    def line(self) -> str:
        try:
            samples = scrape(self.url)
        except OSError:
            return "worker starting (metrics not up yet)"
        readings = sum(samples.get("envwatch_readings_consumed_total", {}).values())
        rows = sum(samples.get("envwatch_rows_written_total", {}).values())
        again = sum(samples.get("envwatch_rows_duplicate_total", {}).values())
        alerts = len(samples.get("envwatch_alert_value", {}))
        now = time.monotonic()
        rate = 0.0
        if self._last is not None and now > self._last[0]:
            rate = (readings - self._last[1]) / (now - self._last[0])
        self._last = (now, readings)
        reasons: dict[str, float] = defaultdict(float)
        for labels, value in samples.get("envwatch_dead_letters_total", {}).items():
            reasons[dict(labels)["reason"]] += value
        return render(rate, int(readings), int(rows), int(again), alerts, reasons)


def render(
    rate: float, readings: int, rows: int, again: int, alerts: int, dead: Mapping[str, float]
) -> str:
    """The summary line (the README shows one; a test holds the two together)."""
    dead_letters = ", ".join(f"{r} {int(v)}" for r, v in sorted(dead.items())) or "none"
    return (
        f"{rate:7.0f} readings/s | {readings} readings | {rows} rows stored, "
        f"{again} already there | {alerts} alerts firing | dead-lettered: {dead_letters}"
    )
