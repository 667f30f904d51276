"""Per-site series: latest values, judged figures and firing alerts, owned by partition.

A worker exports only the sites of the partitions it owns; when a rebalance takes a
partition away, every series of its sites is removed, so two workers never export the same
site and a dashboard never shows a stale value from a worker that gave the site up.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from alerts.judge import Firing
from alerts.metrics import ALERT_FAMILIES, Metrics, Series


class SiteExporter:
    def __init__(self, metrics: Metrics) -> None:
        self.series = metrics.sites
        self._partition: dict[tuple[str, str], int] = {}

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
        """Export one site's state after a batch; ``extra`` completes the feed's figure labels.

        Values and figures not given now keep their last value; alerts are exactly ``firing``.
        """
        owner = (feed, site)
        self._partition[owner] = partition
        labels = (feed, site, county)
        new: dict[tuple[str, tuple[str, ...]], float] = {
            key: value
            for key, value in self.series.get(owner).items()
            if key[0] not in ALERT_FAMILIES
        }
        new[("last_received", labels)] = time.time()
        new[("expected_interval", labels)] = interval_s
        new[("last_seen", labels)] = seen_at
        for parameter, value in values.items():
            new[("value", (*labels, parameter))] = value
        for name, value in figures.items():
            family = f"{feed}_{name}"
            if family in self.series.families:
                new[(family, (site, county, *extra))] = value
        new |= alert_series(feed, site, county, firing)
        self.series.put(owner, new)

    def exports(self, feed: str, site: str) -> bool:
        return (feed, site) in self._partition

    def restore_alerts(
        self, feed: str, site: str, county: str, partition: int, firing: Iterable[Firing]
    ) -> None:
        """After a restart or a rebalance: the firing alerts of a site from its stored state,
        before its next reading, so that an incident is neither resolved nor fired anew."""
        owner = (feed, site)
        self._partition.setdefault(owner, partition)
        self.series.put(
            owner, {**self.series.get(owner), **alert_series(feed, site, county, firing)}
        )

    def drop_partitions(self, feed_partitions: Iterable[tuple[str, int]]) -> int:
        """Remove every series of the sites on these (feed, partition) pairs."""
        gone = set(feed_partitions)
        dropped = [owner for owner, p in self._partition.items() if (owner[0], p) in gone]
        for owner in dropped:
            self.series.drop(owner)
            del self._partition[owner]
        return len(dropped)


def alert_series(feed: str, site: str, county: str, firing: Iterable[Firing]) -> Series:
    out: dict[tuple[str, tuple[str, ...]], float] = {}
    for alert in firing:
        labels = (alert.condition, alert.severity, county, site, alert.parameter, feed)
        out[("alert_value", labels)] = alert.value
        out[("alert_limit", labels)] = alert.limit
        out[("alert_since", labels)] = alert.since
    return out
