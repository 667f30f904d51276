"""What happens to a batch of messages from one feed, from raw bytes to acknowledged offsets.

The order is the guarantee: decode; publish rejects to the dead-letter topic and wait for the
broker to confirm; judge the valid readings; store them (retried until stored); only then
acknowledge the messages, so an offset is never committed for a reading not yet stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import faust

from alerts.metrics import Metrics
from schemas.decode import Decoded, FeedDecoder
from schemas.models import Reading
from streams.deadletter import DeadLetters
from streams.rows import Row, rows_of
from streams.sink import ReadingSink

log = logging.getLogger(__name__)


class Judge(Protocol):
    """A feed's judgement of its valid readings (standards, state, alerts)."""

    def __call__(self, readings: Sequence[Reading]) -> None: ...


@dataclass
class Pipeline:
    decoders: Mapping[str, FeedDecoder]
    sink: ReadingSink
    dead_letters: DeadLetters
    metrics: Metrics
    county_of: Callable[[str, str], str]
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def consume(
        self, feed: str, stream: faust.StreamT, judge: Judge, batch_max: int, within_s: float
    ) -> None:
        """The agent body for one feed: runs until the worker stops."""
        async for events in stream.noack_take(batch_max, within=within_s):
            await self.handle(feed, events, judge)
            for event in events:
                await stream.ack(event)

    async def handle(self, feed: str, events: Sequence[Any], judge: Judge) -> int:
        """Process one batch of events; returns the number of new rows stored."""
        decoder = self.decoders[feed]
        now = self.clock()
        valid: list[Reading] = []
        for event in events:
            decoded: Decoded = decoder.decode(event.message.value or b"", now)
            valid.extend(decoded.readings)
            for reject in decoded.rejects:
                await self.dead_letters.publish(feed, reject, event.message)
                self.metrics.dead_letters.labels(feed, reject.code).inc()
        self.metrics.messages.labels(feed).inc(len(events))
        self.metrics.readings.labels(feed).inc(len(valid))
        if not valid:
            return 0
        judge(valid)
        rows: list[Row] = []
        for reading in valid:
            rows.extend(rows_of(feed, reading))
        started = time.perf_counter()
        stored = await self.sink.write(rows)
        self.metrics.write_seconds.labels(feed).observe(time.perf_counter() - started)
        self.metrics.batch_readings.labels(feed).observe(len(valid))
        self.metrics.rows_written.labels(feed).inc(stored)
        self.metrics.rows_duplicate.labels(feed).inc(len(rows) - stored)
        self.metrics.last_write.labels(feed).set_to_current_time()
        return stored
