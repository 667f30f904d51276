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
from streams.delivery import Delivery

INTERVAL_S = 5.0


def track_lag(app: faust.App, metrics: Metrics, delivery: Delivery) -> None:
    """Partitions the agents read; the tables' changelogs are never committed, so not here."""
    exported: set[tuple[str, str]] = set()

    @app.timer(INTERVAL_S)
    async def export_lag() -> None:
        consumer = app.consumer
        current: set[tuple[str, str]] = set()
        for tp in consumer.assignment():
            committed = delivery.committed(tp)
            highwater = consumer.highwater(tp)
            if committed is None or highwater is None:
                continue
            labels = (tp.topic, str(tp.partition))
            metrics.lag.labels(*labels).set(max(highwater - committed, 0))
            current.add(labels)
        for labels in exported - current:
            metrics.lag.remove(*labels)
        exported.clear()
        exported.update(current)
