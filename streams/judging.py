"""A feed's judgement of a batch: per-site state from the Faust table, verdicts, exports.

State is read and written once per site per batch, not once per reading: a batch of sixty
readings from one station costs one table read and one changelog record.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from kafka.partitioner.default import murmur2

from alerts.judge import AlertEvent, SiteState, Timing, Verdict, firing_alerts
from alerts.standards import ReadingError
from schemas.feed import Reading
from streams.exporter import SiteExporter
from streams.rows import rows_of

log = logging.getLogger(__name__)
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(SiteState).decode


@dataclass
class Judged:
    """What a batch produced besides stored rows: alert transitions and target summaries."""

    events: list[AlertEvent] = field(default_factory=list)
    summaries: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True)
class FeedSpec:
    """What makes one feed's agent its own: how it judges, and the labels it exports."""

    feed: str
    judge: Callable[[SiteState, Any, Any, Timing], Verdict]
    extra_labels: Callable[[Any], tuple[str, ...]] = lambda site: ()


class FeedJudge:
    def __init__(
        self,
        spec: FeedSpec,
        sites: Mapping[str, Any],
        table: Any,
        timing: Timing,
        exporter: SiteExporter,
    ) -> None:
        self.spec = spec
        self.sites = sites
        self.table = table
        self.timing = timing
        self.exporter = exporter

    def __call__(self, readings: Sequence[tuple[Reading, int]]) -> Judged:
        """Judge a batch of (reading, partition)."""
        by_site: dict[str, list[tuple[Reading, int]]] = defaultdict(list)
        for item in readings:
            by_site[item[0].site()].append(item)
        judged = Judged()
        for site_id, items in by_site.items():
            self._judge_site(site_id, items, judged)
        return judged

    def _judge_site(self, site_id: str, items: list[tuple[Reading, int]], out: Judged) -> None:
        key = site_id.encode()
        stored = self.table.get(key)
        state = _decode(stored) if stored else SiteState()
        site = self.sites[site_id]
        figures: dict[str, float] = {}
        newest = items[0][0]
        for reading, _ in items:
            try:
                judged = self.spec.judge(state, reading, site, self.timing)
            except (ReadingError, LookupError) as exc:
                # Valid by the feed contract but not judgeable (no edition of the standard in
                # force at its time, a value no table covers): stored, not judged; never a crash.
                log.warning(
                    "%s reading of %s at %s stored unjudged: %s",
                    self.spec.feed,
                    site_id,
                    reading.span()[1].isoformat(),
                    exc,
                )
                continue
            if judged.judged:
                newest = reading
                figures |= judged.figures
                out.events.extend(judged.events)
                if judged.summary is not None:
                    out.summaries.append(judged.summary)
        self.table[key] = _encode(state)
        values = {row[3]: row[4] for row in rows_of(self.spec.feed, newest)}
        seen = newest.span()[1]
        self.exporter.update(
            self.spec.feed,
            site_id,
            site.county,
            items[-1][1],
            site.interval_s,
            values,
            seen.timestamp(),
            figures,
            firing_alerts(state),
            self.spec.extra_labels(site),
        )

    def restore(self, owned: set[int], partitions: int) -> int:
        """Export the firing alerts of owned sites not seen since this worker started."""
        restored = 0
        for key, stored in list(self.table.items()):
            site_id = key.decode()
            site = self.sites.get(site_id)
            if site is None or self.exporter.exports(self.spec.feed, site_id):
                continue  # the cheap test first: most sites are exported already
            partition = partition_of(key, partitions)
            if partition not in owned:
                continue
            firing = firing_alerts(_decode(stored))
            self.exporter.restore_alerts(self.spec.feed, site_id, site.county, partition, firing)
            restored += 1
        return restored


def partition_of(key: bytes, partitions: int) -> int:
    """The partition the producers' default partitioner (murmur2) gives a key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
