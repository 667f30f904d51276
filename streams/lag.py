"""Consumer lag per owned partition: messages not yet stored, exported every few seconds.

Lag is measured against the committed offset, which moves only once a message's readings
are stored, not against the fetch position, which runs ahead into the stream buffer: a
worker stalled in a database call keeps fetching for a while, and only the committed offset
shows that it has stopped storing. Only partitions this worker owns are exported; series of
partitions it gave up in a rebalance are removed.

The end offsets are asked of the broker at each export, not taken from the last fetch: a
worker cut off from the broker sees no new fetch, and would export the lag of the moment the
network went. The time of the broker's last answer is exported too, so a worker cut off with
nothing left to store (no lag to show) still raises ``WorkerCutOffFromBroker``.
"""

from __future__ import annotations

import logging

import faust
from aiokafka.errors import KafkaError

from alerts.metrics import Metrics
from streams.delivery import Delivery

INTERVAL_S = 5.0
ANSWER_S = 4.0  # how long the broker may take to give the end offsets
log = logging.getLogger(__name__)


def track_lag(app: faust.App, metrics: Metrics, delivery: Delivery) -> None:
    """Partitions the agents read; the tables' changelogs are never committed, so not here."""
    exported: set[tuple[str, str]] = set()

    @app.timer(INTERVAL_S)
    async def export_lag() -> None:
        consumer = app.consumer
        owned = [tp for tp in consumer.assignment() if delivery.committed(tp) is not None]
        try:
            ends = await delivery.reader.end_offsets(owned, ANSWER_S)
        except (TimeoutError, KafkaError) as exc:
            log.warning("the broker did not give the end offsets (%s): lag not refreshed", exc)
            ends = {}
        else:
            metrics.broker_contact.set_to_current_time()
        current: set[tuple[str, str]] = set()
        for tp in owned:
            committed = delivery.committed(tp)
            highwater = ends.get(tp, consumer.highwater(tp))
            if committed is None or highwater is None:
                continue
            labels = (tp.topic, str(tp.partition))
            metrics.lag.labels(*labels).set(max(highwater - committed, 0))
            current.add(labels)
        for labels in exported - current:
            metrics.lag.remove(*labels)
        exported.clear()
        exported.update(current)
