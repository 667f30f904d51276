"""Per-site series: latest values, judged figures and firing alerts, owned by partition.

A worker exports only the sites of the partitions it owns; when a rebalance takes a
partition away, every series of its sites is removed, so two workers never export the same
site and a dashboard never shows a stale value from a worker that gave the site up.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import Gauge

from alerts.judge import Firing
from alerts.metrics import Metrics


@dataclass
class _Exported:
    """The label sets exported for one site, so they can be removed together."""

    partition: int
    series: set[tuple[Gauge, tuple[str, ...]]] = field(default_factory=set)


class SiteExporter:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._sites: dict[tuple[str, str], _Exported] = {}
        # Gauge.labels() validates and locks on every call; a site's series are set after
        # every batch, so their children are kept here until the series is removed.
        self._children: dict[tuple[Gauge, tuple[str, ...]], Gauge] = {}

    def _set(self, gauge: Gauge, labels: tuple[str, ...], value: float) -> None:
        child = self._children.get((gauge, labels))
        if child is None:
            child = self._children[(gauge, labels)] = gauge.labels(*labels)
        child.set(value)

    def update(
        self,
        feed: str,
        site: str,
        county: str,
        partition: int,
        interval_s: float,
        values: Mapping[str, float],
        seen_at: float,
        figures: Mapping[str, float],
        firing: Iterable[Firing],
        extra: tuple[str, ...] = (),
    ) -> None:
        """Export one site's state after a batch; ``extra`` completes the feed's figure labels."""
        m = self.metrics
        exported = self._sites.get((feed, site))
        if exported is None or exported.partition != partition:
            exported = self._sites[(feed, site)] = _Exported(partition)
        keep: set[tuple[Gauge, tuple[str, ...]]] = set()

        def put(gauge: Gauge, labels: tuple[str, ...], value: float) -> None:
            self._set(gauge, labels, value)
            keep.add((gauge, labels))

        put(m.last_received, (feed, site, county), time.time())
        put(m.expected_interval, (feed, site, county), interval_s)
        put(m.last_seen, (feed, site, county), seen_at)
        for parameter, value in values.items():
            put(m.value, (feed, site, county, parameter), value)
        for name, value in figures.items():
            gauge = m.figures.get(f"{feed}_{name}")
            if gauge is not None:
                put(gauge, (site, county, *extra), value)
        for alert in firing:
            labels = (alert.condition, alert.severity, county, site, alert.parameter, feed)
            put(m.alert_value, labels, alert.value)
            put(m.alert_limit, labels, alert.limit)
            put(m.alert_since, labels, alert.since)
        stale = {
            (gauge, labels)
            for gauge, labels in exported.series - keep
            if gauge in (m.alert_value, m.alert_limit, m.alert_since)
        }
        self._remove(stale)
        exported.series = (exported.series - stale) | keep

    def exports(self, feed: str, site: str) -> bool:
        return (feed, site) in self._sites

    def restore_alerts(
        self, feed: str, site: str, county: str, partition: int, firing: Iterable[Firing]
    ) -> None:
        """After a restart or a rebalance: the firing alerts of a site from its stored state,
        before its next reading, so that an incident is neither resolved nor fired anew."""
        m = self.metrics
        exported = self._sites.setdefault((feed, site), _Exported(partition))
        for alert in firing:
            labels = (alert.condition, alert.severity, county, site, alert.parameter, feed)
            for gauge, value in (
                (m.alert_value, alert.value),
                (m.alert_limit, alert.limit),
                (m.alert_since, alert.since),
            ):
                self._set(gauge, labels, value)
                exported.series.add((gauge, labels))

    def drop_partitions(self, feed_partitions: Iterable[tuple[str, int]]) -> int:
        """Remove every series of the sites on these (feed, partition) pairs."""
        gone = set(feed_partitions)
        dropped = 0
        for (feed, site), exported in list(self._sites.items()):
            if (feed, exported.partition) in gone:
                self._remove(exported.series)
                del self._sites[(feed, site)]
                dropped += 1
        return dropped

    def _remove(self, series: Iterable[tuple[Gauge, tuple[str, ...]]]) -> None:
        for gauge, labels in series:
            self._children.pop((gauge, labels), None)
            with contextlib.suppress(KeyError):  # already gone
                gauge.remove(*labels)
