"""What happens to a batch of messages from one feed, from raw bytes to stored offsets.

The order is the guarantee: decode; publish rejects to the dead-letter topic and wait for the
broker to confirm; judge the valid readings (state, metrics, alert transitions); store the
readings and the transitions in one transaction (retried until stored); publish the
transitions; only then count the batch's records as stored, so an offset is never committed
for a reading not yet stored (streams/delivery.py commits).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import faust
import orjson

from alerts.metrics import Metrics
from schemas.decode import FeedDecoder, Reject
from schemas.feed import Reading
from streams.alert_events import AlertEvents
from streams.deadletter import DeadLetters
from streams.delivery import Delivery, Record
from streams.judging import Judged
from streams.publish import send_confirmed
from streams.rows import Row, row_of
from streams.sink import ReadingSink

log = logging.getLogger(__name__)


class Judge(Protocol):
    """A feed's judgement of valid (reading, partition) pairs."""

    def __call__(self, readings: Sequence[tuple[Reading, int]]) -> Judged: ...


@dataclass
class Pipeline:
    decoders: Mapping[str, FeedDecoder]
    sinks: Mapping[str, ReadingSink]  # one per feed: each agent writes on its own connection
    dead_letters: DeadLetters
    alert_events: AlertEvents
    summaries: Any  # the summaries topic
    metrics: Metrics
    delivery: Delivery
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def consume(
        self, feed: str, stream: faust.StreamT, judge: Judge, batch_max: int, within_s: float
    ) -> None:
        """The agent body for one feed: runs until the worker stops."""
        async for records in self.delivery.batches(stream, batch_max, within_s):
            await self.handle(feed, records, judge)

    async def handle(self, feed: str, records: Sequence[Record], judge: Judge) -> int:
        """Process one batch of records; returns the number of new rows stored."""
        decoder = self.decoders[feed]
        now = self.clock()
        valid: list[tuple[Reading, int]] = []
        rejected: list[tuple[str, Reject, Record]] = []
        for message in records:
            decoded = decoder.decode(message.value or b"", now)
            valid.extend((reading, message.partition) for reading in decoded.readings)
            rejected.extend((feed, reject, message) for reject in decoded.rejects)
        if rejected:
            await self.dead_letters.publish(rejected)
            for _, reject, _ in rejected:
                self.metrics.dead_letters.labels(feed, reject.code).inc()
        self.metrics.messages.labels(feed).inc(len(records))
        self.metrics.readings.labels(feed).inc(len(valid))
        if not valid:
            return 0
        judged = judge(valid)
        transitions = judged.events
        rows: list[Row] = []
        for reading, _ in valid:
            rows.append(row_of(feed, reading))
        started = time.perf_counter()
        stored = await self.sinks[feed].write(rows, transitions)
        self.metrics.write_seconds.labels(feed).observe(time.perf_counter() - started)
        self.metrics.batch_readings.labels(feed).observe(len(valid))
        self.metrics.rows_written.labels(feed).inc(stored)
        self.metrics.rows_duplicate.labels(feed).inc(len(rows) - stored)
        self.metrics.last_write.labels(feed).set_to_current_time()
        if judged.summaries:
            await send_confirmed(
                self.summaries, ((b"city", orjson.dumps(s), None) for s in judged.summaries)
            )
        if transitions:
            await self.alert_events.publish(transitions)
            for t in transitions:
                self.metrics.alert_transitions.labels(t.condition, t.transition).inc()
        return stored
