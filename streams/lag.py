"""Consumer lag per owned partition: messages not yet stored, exported every few seconds.

Lag is measured against the committed offset, which moves only once a message's readings
are stored, not against the fetch position, which runs ahead into the stream buffer: a
worker stalled in a database call keeps fetching for a while, and only the committed offset
shows that it has stopped storing. Only partitions this worker owns are exported; series of
partitions it gave up in a rebalance are removed.
"""

from __future__ import annotations

import faust

from alerts.metrics import Metrics

INTERVAL_S = 5.0


def track_lag(app: faust.App, metrics: Metrics, topics: set[str]) -> None:
    """``topics``: the ones the agents consume (not the tables' changelogs, never committed)."""
    exported: set[tuple[str, str]] = set()

    @app.timer(INTERVAL_S)
    async def export_lag() -> None:
        consumer = app.consumer
        # Faust keeps the committed offsets it has read or made; there is no public accessor.
        committed = consumer._committed_offset
        current: set[tuple[str, str]] = set()
        for tp in consumer.assignment():
            if tp.topic not in topics:
                continue
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            labels = (tp.topic, str(tp.partition))
            metrics.lag.labels(*labels).set(max(highwater - (committed.get(tp) or 0), 0))
            current.add(labels)
        for labels in exported - current:
            metrics.lag.remove(*labels)
        exported.clear()
        exported.update(current)
