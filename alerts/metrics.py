"""Every Prometheus metric the worker exports, registered on a registry passed in.

Base units and standard suffixes; label values are ids from the city's register, so the
number of series is bounded by the register, not by the data.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from alerts.feeds import judgement
from schemas.feed import Feed
from schemas.feeds import FEEDS


class Metrics:
    def __init__(self, registry: CollectorRegistry, feeds: Mapping[str, Feed] = FEEDS) -> None:
        self.registry = registry
        # Pipeline health
        self.messages = Counter(
            "envwatch_messages_consumed_total",
            "Messages consumed from a feed topic",
            ["feed"],
            registry=registry,
        )
        self.readings = Counter(
            "envwatch_readings_consumed_total",
            "Valid readings decoded from a feed",
            ["feed"],
            registry=registry,
        )
        self.rows_written = Counter(
            "envwatch_rows_written_total",
            "New rows stored in the readings table",
            ["feed"],
            registry=registry,
        )
        self.rows_duplicate = Counter(
            "envwatch_rows_duplicate_total",
            "Readings already stored as sent (a re-sent or replayed reading)",
            ["feed"],
            registry=registry,
        )
        self.readings_revised = Counter(
            "envwatch_readings_revised_total",
            "Audited readings that replaced a stored reading (the old one kept as a revision)",
            ["feed"],
            registry=registry,
        )
        self.readings_filled = Counter(
            "envwatch_readings_filled_total",
            "Readings re-sent with quantities the stored reading lacked, filled into it",
            ["feed"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "envwatch_dead_letters_total",
            "Messages or batch elements sent to the dead-letter topic",
            ["feed", "reason"],
            registry=registry,
        )
        self.db_errors = Counter(
            "envwatch_db_write_errors_total",
            "Failed database write attempts (each is retried)",
            registry=registry,
        )
        # Seconds; from a few milliseconds for a small COPY to the multi-second tail of a
        # database under load or recovering from an outage.
        self.write_seconds = Histogram(
            "envwatch_db_write_seconds",
            "Time to store one batch, retries included",
            ["feed"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.batch_readings = Histogram(
            "envwatch_batch_readings",
            "Readings per stored batch",
            ["feed"],
            registry=registry,
            buckets=(1, 10, 50, 100, 500, 1000, 5000, 20000),
        )
        self.last_write = Gauge(
            "envwatch_last_write_timestamp_seconds",
            "When the last batch was stored",
            ["feed"],
            registry=registry,
        )
        self.records_refetched = Counter(
            "envwatch_records_refetched_total",
            "Records the stream skipped, read again by offset before the batch went on",
            ["topic"],
            registry=registry,
        )
        self.records_redelivered = Counter(
            "envwatch_records_redelivered_total",
            "Records handed over again after they were stored (after a rebalance); dropped",
            ["topic"],
            registry=registry,
        )
        self.state_records = Counter(
            "envwatch_state_changelog_records_total",
            "Site states written to a state table's changelog (one per site per checkpoint)",
            ["feed"],
            registry=registry,
        )
        self.stage_seconds = Counter(
            "envwatch_stage_seconds_total",
            "Seconds a feed's batches spent in each stage (decode, dead_letter, state, judge,"
            " rows, write, publish, export)",
            ["feed", "stage"],
            registry=registry,
        )
        self.broker_contact = Gauge(
            "envwatch_broker_last_contact_timestamp_seconds",
            "When the broker last answered this worker's lag check (every 5 s)",
            registry=registry,
        )
        self.lag = Gauge(
            "envwatch_consumer_lag",
            "Messages not yet consumed, per partition owned",
            ["topic", "partition"],
            registry=registry,
        )
        # Per site: latest values, judged figures, firing alerts
        self.sites = SiteSeries(SITE_FAMILIES | CITY_FAMILIES | figure_families(feeds), registry)
        # Plan targets, on each basis (realtime: every stored value; audited: the audited
        # rows), for the city or a county (scope).
        target = ["target", "basis", "scope"]
        self.target_value = Gauge(
            "envwatch_target_value",
            "Progress figure of a plan target (ratios as fractions; NaN: a figure it needs, such"
            " as the PM2.5 baseline, is not set)",
            target,
            registry=registry,
        )
        self.target_goal = Gauge(
            "envwatch_target_goal",
            "The plan's figure for the target (NaN: not set in the target file)",
            target,
            registry=registry,
        )
        self.target_status = Gauge(
            "envwatch_target_status", "0 met, 1 at risk, 2 missed", target, registry=registry
        )
        self.target_reads = Counter(
            "envwatch_target_reads_total",
            "Reads of the year so far from storage for the plan targets, by result (ok, failed)",
            ["result"],
            registry=registry,
        )
        self.target_read_at = Gauge(
            "envwatch_target_last_read_timestamp_seconds",
            "When the plan targets last read the year so far from storage",
            registry=registry,
        )
        self.county_cap = Gauge(
            "envwatch_county_energy_cap_tce",
            "A county's annual energy cap from the register (tce)",
            ["county"],
            registry=registry,
        )
        self.alert_transitions = Counter(
            "envwatch_alert_transitions_total",
            "Alert transitions decided by the worker",
            ["condition", "transition"],
            registry=registry,
        )


@dataclass(frozen=True)
class Family:
    name: str
    doc: str
    labels: tuple[str, ...]


_SITE = ("feed", "site", "county")
_FIGURE = ("site", "county")
_ALERT = ("condition", "severity", "county", "site", "parameter", "feed")

# Keys: what the exporter names a series by; the feeds' figures are keyed "<feed>_<figure>".
SITE_FAMILIES: dict[str, Family] = {
    "value": Family(
        "envwatch_reading_value", "Latest value of a parameter at a site", (*_SITE, "parameter")
    ),
    "last_seen": Family(
        "envwatch_site_last_seen_timestamp_seconds", "Timestamp of a site's latest reading", _SITE
    ),
    "last_received": Family(
        "envwatch_site_last_received_timestamp_seconds",
        "Wall-clock time this worker last received a reading from a site",
        _SITE,
    ),
    "expected_interval": Family(
        "envwatch_site_expected_interval_seconds",
        "A site's reporting interval from the register",
        _SITE,
    ),
    "alert_value": Family(
        "envwatch_alert_value", "Value of the quantity behind a firing alert", _ALERT
    ),
    "alert_limit": Family("envwatch_alert_limit", "The limit a firing alert compares with", _ALERT),
    "alert_since": Family(
        "envwatch_alert_since_timestamp_seconds",
        "When the condition of a firing alert began (reading time)",
        _ALERT,
    ),
}
ALERT_FAMILIES = ("alert_value", "alert_limit", "alert_since")
_PERIOD = ("basis", "site", "county", "period")  # period: month (the current one) or year
# The city's period results of the current month and the year so far (their history is in
# the tables of migration 011).
CITY_FAMILIES: dict[str, Family] = {
    "air_mean": Family(
        "envwatch_air_mean",
        "Mean of the valid daily means of a station (site=city: the city) in the period",
        (*_PERIOD, "pollutant"),
    ),
    "air_mean_days": Family(
        "envwatch_air_mean_days",
        "Valid daily means behind envwatch_air_mean",
        (*_PERIOD, "pollutant"),
    ),
    "air_mean_valid": Family(
        "envwatch_air_mean_valid",
        "1 when the period has the valid days GB 3095 asks (27, 25 in February; 324 a year)",
        (*_PERIOD, "pollutant"),
    ),
    "section_class": Family(
        "envwatch_section_period_class",
        "A section's class over the period from the mean of each indicator (1-6)",
        _PERIOD,
    ),
}


def figure_families(feeds: Mapping[str, Feed]) -> dict[str, Family]:
    """Each feed's judged figures, as its judgement module declares them."""
    out = {}
    for name, feed in feeds.items():
        judged = judgement(feed)
        labels = (*_FIGURE, *judged.FIGURE_LABELS)
        for figure, doc in judged.FIGURES.items():
            out[f"{name}_{figure}"] = Family(f"envwatch_{name}_{figure}", doc, labels)
    return out


Sample = tuple[tuple[str, tuple[str, ...]], float]  # ((family key, label values), value)


class Series(Protocol):
    """An owner's series: a mapping of (family key, label values) to the value, or anything
    else that yields those pairs when asked (a compact record rendered at scrape time)."""

    def items(self) -> Iterable[Sample]: ...


class SiteSeries(Collector):
    """Every site's gauges, kept as plain values and rendered when Prometheus scrapes.

    A Gauge child costs about a kilobyte, a site has a dozen series, and a province has ten
    thousand sites; a value in a dict costs a fifth of that. Each owner's (a site's, or the
    city's) series are replaced whole, never changed in place, so a scrape in the HTTP thread
    reads a consistent snapshot without a lock.
    """

    def __init__(self, families: Mapping[str, Family], registry: CollectorRegistry) -> None:
        self.families = families
        self._owners: dict[Hashable, Series] = {}
        registry.register(self)

    def put(self, owner: Hashable, series: Series) -> None:
        self._owners[owner] = series

    def drop(self, owner: Hashable) -> None:
        self._owners.pop(owner, None)

    def _empty(self) -> dict[str, GaugeMetricFamily]:
        return {
            key: GaugeMetricFamily(f.name, f.doc, labels=f.labels)
            for key, f in self.families.items()
        }

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return self._empty().values()

    def collect(self) -> Iterable[GaugeMetricFamily]:
        out = self._empty()
        for series in list(self._owners.values()):
            for (family, labels), value in series.items():
                out[family].add_metric(labels, value)
        return out.values()
