"""Faust's Kafka transport, with one setting Faust does not expose: how long a fetch waits.

Faust builds its worker consumer with ``fetch_max_wait_ms=1500``. Kafka answers a waiting
fetch as soon as data arrives, so the wait only matters when idle; a broker that holds the
fetch for the whole wait instead (the embedded one does) adds up to that much to the delay
of every reading. The worker sets it from ``ENVWATCH_FETCH_MAX_WAIT_MS``.
"""

from __future__ import annotations

from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as driver


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it makes its fetcher, which is next.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms  # type: ignore[attr-defined]
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(driver.Transport):
    Consumer = _Consumer


class App(faust.App):
    """A Faust app whose worker consumer waits at most ``fetch_max_wait_ms`` per fetch."""

    fetch_max_wait_ms: int = 1500

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)
