"""Real services for integration tests: the embedded broker, PostgreSQL, worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from envwatch.embedded import free_port, stop_process, wait_for_port, wait_until
from envwatch.kafka_config import kafka_python_config
from envwatch.settings import Settings
from envwatch.summary import answers, scrape


@dataclass
class WorkerProcess:
    """``envwatch worker`` as a child process, as it runs in production."""

    settings: Settings
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> WorkerProcess:
        env = (
            dict(os.environ)
            | {
                "ENVWATCH_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
                "ENVWATCH_DATABASE_URL": self.settings.database_url.get_secret_value(),
                "ENVWATCH_TOPIC_PREFIX": self.settings.topic_prefix,
                "ENVWATCH_TOPIC_PARTITIONS": str(self.settings.topic_partitions),
                "ENVWATCH_APP_ID": self.settings.app_id,
                "ENVWATCH_METRICS_PORT": str(self.settings.metrics_port),
                "ENVWATCH_WORKER_WEB_PORT": str(free_port()),
                "ENVWATCH_BATCH_WITHIN_S": "0.05",
                "ENVWATCH_DB_RETRY_MAX_S": "1.0",
            }
            | self.env
        )
        out = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "envwatch.cli", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._metrics_up, 30, "the worker's metrics endpoint")
        return self

    def _metrics_up(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited: {self.log_path.read_text()[-3000:]}")
        return answers(self.metrics_url)

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.metrics_port}/metrics"

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a metric's samples whose labels include ``labels``."""
        samples = scrape(self.metrics_url).get(name, {})
        return sum(v for k, v in samples.items() if labels.items() <= dict(k).items())

    def stop(self) -> None:
        stop_process(self.process, 20.0)


@dataclass
class GatewayProcess:
    """``envwatch gateway`` as a child process, listening on a free loopback port."""

    settings: Settings
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> GatewayProcess:
        env = (
            dict(os.environ)
            | {
                "ENVWATCH_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
                "ENVWATCH_TOPIC_PREFIX": self.settings.topic_prefix,
                "ENVWATCH_GATEWAY_HOST": "127.0.0.1",
                "ENVWATCH_GATEWAY_METRICS_PORT": str(self.metrics_port),
            }
            | self.env
        )
        out = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "envwatch.cli", "gateway", "--port", str(self.port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._up, 30, "the gateway's metrics endpoint")
        wait_for_port(self.port)
        return self

    def _up(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"gateway exited: {self.log_path.read_text()[-3000:]}")
        return answers(self.metrics_url)

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a metric's samples whose labels include ``labels``."""
        samples = scrape(self.metrics_url).get(name, {})
        return sum(v for k, v in samples.items() if labels.items() <= dict(k).items())

    def stop(self) -> None:
        stop_process(self.process, 20.0)


def producer(settings: Settings) -> KafkaProducer:
    # Retries: a broker busy with a test's load may refuse a request for a moment.
    return KafkaProducer(**kafka_python_config(settings), acks="all", linger_ms=5, retries=10)


def read_topic(
    settings: Settings,
    topic: str,
    expected: int,
    timeout_s: float = 30,
    weight: Callable[[Any], int] = lambda _record: 1,
) -> list[Any]:
    """Every record of a topic from the beginning, once ``expected`` have arrived (counted by
    ``weight``: a batch message may count as its readings)."""
    consumer = KafkaConsumer(
        topic,
        **kafka_python_config(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=1000,
    )
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout_s
        seen = 0
        while seen < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
                seen += sum(map(weight, batch))
    finally:
        consumer.close()
    return records


def committed(settings: Settings, feed: str = "air") -> int:
    """Sum of the worker group's committed offsets on a feed topic."""
    admin = KafkaAdminClient(**kafka_python_config(settings))
    try:
        offsets = admin.list_group_offsets(settings.app_id).get(settings.app_id, {})
    finally:
        admin.close()
    return sum(
        meta.offset
        for tp, meta in offsets.items()
        if tp.topic == settings.topic(feed) and meta.offset > 0
    )
