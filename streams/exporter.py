"""Per-site series, derived from the site's state alone: what a worker exports about a site.

A site's series are its state's last reading time, the wall-clock time its last reading
arrived, its latest values and judged figures, and its firing alerts. Being a function of
the state, they are the same whichever worker owns the site: after a restart or a
rebalance the new owner exports every site it took over from the recovered state before it
consumes anything, and a worker that gives a partition up removes every series of its
sites, so no alert is ever exported by two workers or left behind.

What is kept per site is small (a province has tens of thousands of sites): the state's
figures packed in tuples beside the feed's names for them, rendered into series only when
Prometheus scrapes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from alerts.feeds import judgement
from alerts.judge import Firing, SiteState, firing
from alerts.metrics import SiteSeries
from schemas.feed import Feed

Series = dict[tuple[str, tuple[str, ...]], float]
Sample = tuple[tuple[str, tuple[str, ...]], float]


class SiteExport(NamedTuple):
    """One site's exported figures, taken from its state: renders as (series, value) pairs."""

    labels: tuple[str, str, str]  # feed, site, county
    interval_s: float
    last_at: float
    received_at: float
    value_names: tuple[str, ...]
    values: tuple[float | None, ...]  # by value_names
    figure_labels: tuple[str, ...]  # site, county and the feed's own
    figure_names: tuple[str, ...]  # "<feed>_<figure>"
    figures: tuple[float | None, ...]  # by figure_names
    alerts: tuple[Firing, ...]

    def items(self) -> Iterator[Sample]:
        labels = self.labels
        yield ("expected_interval", labels), self.interval_s
        if self.received_at:
            yield ("last_received", labels), self.received_at
        if self.last_at:
            yield ("last_seen", labels), self.last_at
        for name, value in zip(self.value_names, self.values, strict=True):
            if value is not None:
                yield ("value", (*labels, name)), value
        for name, value in zip(self.figure_names, self.figures, strict=True):
            if value is not None:
                yield (name, self.figure_labels), value
        feed, site, county = labels
        yield from alert_series(feed, site, county, self.alerts).items()


class SiteExporter:
    def __init__(self, series: SiteSeries, feeds: Mapping[str, Feed]) -> None:
        self.series = series
        self._judgements = {name: judgement(feed) for name, feed in feeds.items()}
        self._names = {
            name: tuple(f"{name}_{figure}" for figure in j.FIGURES)
            for name, j in self._judgements.items()
        }

    def export(self, feed: str, site: Any, state: SiteState) -> None:
        judged = self._judgements[feed]
        self.series.put(
            (feed, site.id),
            SiteExport(
                (feed, site.id, site.county),
                site.interval_s,
                state.last_at,
                state.received_at,
                judged.VALUE_NAMES,
                tuple(state.values.get(name) for name in judged.VALUE_NAMES),
                (site.id, site.county, *judged.figure_labels(site)),
                self._names[feed],
                tuple(state.figures.get(name) for name in judged.FIGURES),
                tuple(firing(state)),
            ),
        )

    def drop(self, feed: str, sites: Iterable[str]) -> None:
        for site in sites:
            self.series.drop((feed, site))


def alert_series(feed: str, site: str, county: str, alerts: Iterable[Firing]) -> Series:
    out: Series = {}
    for alert in alerts:
        labels = (alert.condition, alert.severity, county, site, alert.parameter, feed)
        out[("alert_value", labels)] = alert.value
        out[("alert_limit", labels)] = alert.limit
        out[("alert_since", labels)] = alert.since
    return out
