"""Per-site series, derived from the site's state alone: what a worker exports about a site.

A site's series are its state's last reading time, the wall-clock time its last reading
arrived, its latest values and judged figures, and its firing alerts. Being a function of
the state, they are the same whichever worker owns the site: after a restart or a
rebalance the new owner exports every site it took over from the recovered state before it
consumes anything, and a worker that gives a partition up removes every series of its
sites, so no alert is ever exported by two workers or left behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from alerts.feeds import Judgement, judgement
from alerts.judge import Firing, SiteState, firing
from alerts.metrics import SiteSeries
from schemas.feed import Feed

Series = dict[tuple[str, tuple[str, ...]], float]


class SiteExporter:
    def __init__(self, series: SiteSeries, feeds: Mapping[str, Feed]) -> None:
        self.series = series
        self._judgements = {name: judgement(feed) for name, feed in feeds.items()}

    def export(self, feed: str, site: Any, state: SiteState) -> None:
        self.series.put((feed, site.id), site_series(feed, site, state, self._judgements[feed]))

    def drop(self, feed: str, sites: Iterable[str]) -> None:
        for site in sites:
            self.series.drop((feed, site))


def site_series(feed: str, site: Any, state: SiteState, judged: Judgement) -> Series:
    labels = (feed, site.id, site.county)
    out: Series = {("expected_interval", labels): site.interval_s}
    if state.received_at:
        out[("last_received", labels)] = state.received_at
    if state.last_at:
        out[("last_seen", labels)] = state.last_at
    for parameter, value in state.values.items():
        out[("value", (*labels, parameter))] = value
    if state.figures:
        figure = (site.id, site.county, *judged.figure_labels(site))
        for name, value in state.figures.items():
            if name in judged.FIGURES:
                out[(f"{feed}_{name}", figure)] = value
    out |= alert_series(feed, site.id, site.county, firing(state))
    return out


def alert_series(feed: str, site: str, county: str, alerts: Iterable[Firing]) -> Series:
    out: Series = {}
    for alert in alerts:
        labels = (alert.condition, alert.severity, county, site, alert.parameter, feed)
        out[("alert_value", labels)] = alert.value
        out[("alert_limit", labels)] = alert.limit
        out[("alert_since", labels)] = alert.since
    return out
