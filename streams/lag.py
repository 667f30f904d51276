"""Consumer lag per owned partition, exported every few seconds.

Only partitions this worker owns are exported; series of partitions it gave up in a
rebalance are removed, so several workers never report the same partition twice.
"""

from __future__ import annotations

import faust

from alerts.metrics import Metrics

INTERVAL_S = 5.0


def track_lag(app: faust.App, metrics: Metrics) -> None:
    exported: set[tuple[str, str]] = set()

    @app.timer(INTERVAL_S)
    async def export_lag() -> None:
        consumer = app.consumer
        current: set[tuple[str, str]] = set()
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            position = await consumer.position(tp)
            lag = highwater - (position or 0)
            labels = (tp.topic, str(tp.partition))
            metrics.lag.labels(*labels).set(max(lag, 0))
            current.add(labels)
        for labels in exported - current:
            metrics.lag.remove(*labels)
        exported.clear()
        exported.update(current)
