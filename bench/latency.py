"""Produce-to-alert-event latency under load.

Background single-reading messages are sent at a steady rate (half the measured maximum);
among them, water samples worse than Class V at sections whose alert is not firing. A
sample is judged alone (no sustain time), so each one fires ``water_class_v`` at once; a clean
sample of the same section before it resolves any alert left from an earlier sample. The
latency of a breach is from the moment its message is handed to the producer to the moment
this process consumes the firing event from ``<prefix>.alerts`` (the event carries the site
and the reading time, which identify the breach).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.kafka import producer
from bench.payloads import Message
from streams.settings import Settings
from streams.topics import ALERT_EVENTS, feed_topic

TICK_S = 0.01
CLEAN = {"ph": 7.4, "do": 8.0, "codmn": 2.0, "nh3n": 0.2, "tp": 0.05}
BREACH = CLEAN | {"nh3n": 5.0}  # ammonia above the Class V limit of 2.0 mg/L


@dataclass
class Latency:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    breaches: int
    rate_msgs_s: float


def _sample(section: str, ts: datetime, values: dict[str, float]) -> bytes:
    return orjson.dumps({"section_id": section, "ts": ts.isoformat()} | values)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(
    settings: Settings,
    background: Sequence[Message],
    sections: Sequence[str],
    rate: float,
    start: datetime,
    breaches_per_s: float = 20.0,
) -> Latency:
    """Send ``background`` at ``rate`` messages/s with breach pairs mixed in."""
    duration = len(background) / rate
    sent: dict[tuple[str, datetime], float] = {}
    received: dict[tuple[str, datetime], float] = {}
    # A short fetch wait: the embedded broker holds a fetch for the whole wait even when data
    # arrives, and the instrument must not add its own delay to what it measures.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10
    )
    await consumer.start()
    alerts = settings.topic(ALERT_EVENTS)
    partitions = [TopicPartition(alerts, n) for n in range(settings.topic_partitions)]
    consumer.assign(partitions)
    # The broker may report an end offset short of the real end (DESIGN.md): then a few old
    # events are read again, which match no breach of this run.
    await consumer.seek_to_end(*partitions)
    for tp in partitions:
        await consumer.position(tp)  # resolve the start now, before anything is sent
    done = asyncio.Event()

    async def consume() -> None:
        while not done.is_set():
            batches = await consumer.getmany(timeout_ms=50)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    event = orjson.loads(record.value)
                    if event["condition"] == "water_class_v" and event["transition"] == "firing":
                        key = (event["site"], datetime.fromisoformat(event["at"]))
                        received.setdefault(key, now)
            if sent and len(received.keys() & sent.keys()) >= expected_breaches:
                done.set()

    expected_breaches = int(duration * breaches_per_s)
    reader = asyncio.create_task(consume())
    async with producer(settings) as p:
        water = feed_topic(settings, "water")
        began = time.perf_counter()
        bg_sent = breach_sent = 0
        futures = []
        while bg_sent < len(background) or breach_sent < expected_breaches:
            elapsed = time.perf_counter() - began
            while bg_sent < min(len(background), int(elapsed * rate)):
                m = background[bg_sent]
                futures.append(await p.send(feed_topic(settings, m.feed), m.value, key=m.key))
                bg_sent += 1
            while breach_sent < min(expected_breaches, int(elapsed * breaches_per_s)):
                section = sections[breach_sent % len(sections)]
                ts = start + timedelta(hours=2 * (breach_sent // len(sections)))
                key = section.encode()
                futures.append(await p.send(water, _sample(section, ts, CLEAN), key=key))
                breach_at = ts + timedelta(hours=1)
                sent[(section, breach_at)] = time.perf_counter()
                futures.append(await p.send(water, _sample(section, breach_at, BREACH), key=key))
                breach_sent += 1
            await asyncio.sleep(TICK_S)
        sending_s = time.perf_counter() - began
        await asyncio.gather(*futures)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 60)
        done.set()
        await reader
    await consumer.stop()
    latencies = [(received[k] - t) * 1000 for k, t in sent.items() if k in received]
    if len(latencies) < len(sent):
        raise RuntimeError(f"only {len(latencies)} of {len(sent)} breaches raised an event")
    return Latency(
        percentile(latencies, 0.50),
        percentile(latencies, 0.95),
        percentile(latencies, 0.99),
        max(latencies),
        len(latencies),
        (len(background) + 2 * len(sent)) / sending_s,
    )
