"""The embedded stack of one benchmark run: broker, PostgreSQL, worker processes, metrics.

Everything lives under one temporary directory and is stopped at the end. Workers are real
``envwatch worker`` processes, started with the environment production would give them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from envwatch.embedded import (
    WRITER_ROLE,
    EmbeddedBroker,
    EmbeddedPostgres,
    free_port,
    stop_process,
    wait_until,
)
from envwatch.summary import answers, scrape
from schemas.migrate import migrate
from streams.settings import Settings, load_settings
from streams.topics import ensure_topics

PARTITIONS = 8
# The worker's batching window in every run; the tests use the same.
BATCH_WITHIN_S = "0.05"


@dataclass
class Process:
    """A child process exposing Prometheus metrics: a worker or the bare Faust agent."""

    args: list[str]
    env: dict[str, str]
    metrics_port: int
    log_path: Path
    cwd: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        out = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, *self.args],
            env=dict(os.environ) | self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,  # Faust writes its data directory into the working directory
        )
        return self

    def wait_up(self, timeout_s: float = 60) -> Process:
        wait_until(self._up, timeout_s, f"metrics of {self.log_path.name}", every_s=0.2)
        return self

    def _up(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"process exited: {self.log_path.read_text()[-3000:]}")
        return answers(self.metrics_url)

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def metric(self, name: str) -> float:
        """Sum of all samples of a metric."""
        return sum(self.samples(name).values())

    def samples(self, name: str) -> dict[tuple[tuple[str, str], ...], float]:
        # Only the metric asked for: rendering every per-site series would cost the worker
        # real CPU at the polling rate of a benchmark.
        family = name.removesuffix("_total").removesuffix("_sum").removesuffix("_count")
        return scrape(f"{self.metrics_url}?name[]={name}&name[]={family}").get(name, {})

    def rss_bytes(self) -> int:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        stop_process(self.process, 20.0)


@dataclass
class Stack:
    root: Path
    broker: EmbeddedBroker | None = None
    postgres: EmbeddedPostgres | None = None
    processes: list[Process] = field(default_factory=list)

    def start(self) -> Stack:
        self.broker = EmbeddedBroker(log_path=self.root / "broker.log").start()
        self.postgres = EmbeddedPostgres(self.root / "pg").start()
        migrate(self.postgres.url())
        return self

    @property
    def admin_url(self) -> str:
        assert self.postgres is not None
        return self.postgres.url()

    def settings(self, prefix: str, reference_dir: Path | None = None) -> Settings:
        """Settings of one run: its own topics and consumer group; topics created now."""
        assert self.broker is not None and self.postgres is not None
        made = load_settings(
            kafka_bootstrap=self.broker.bootstrap,
            database_url=self.postgres.url(WRITER_ROLE),
            database_admin_url=self.postgres.url(),
            topic_prefix=prefix,
            app_id=f"bench-{prefix}",
            topic_partitions=PARTITIONS,
            reference_dir=reference_dir,
        )
        ensure_topics(made)
        return made

    def worker(self, settings: Settings, name: str) -> Process:
        """An ``envwatch worker`` process for these settings (started, not yet up)."""
        env = {
            "ENVWATCH_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "ENVWATCH_DATABASE_URL": settings.database_url.get_secret_value(),
            "ENVWATCH_TOPIC_PREFIX": settings.topic_prefix,
            "ENVWATCH_TOPIC_PARTITIONS": str(settings.topic_partitions),
            "ENVWATCH_APP_ID": settings.app_id,
            "ENVWATCH_WORKER_WEB_PORT": str(free_port()),
            "ENVWATCH_BATCH_WITHIN_S": BATCH_WITHIN_S,
        }
        if settings.reference_dir is not None:
            env["ENVWATCH_REFERENCE_DIR"] = str(settings.reference_dir)
        return self._spawn(["-m", "envwatch.cli", "worker"], env, name)

    def bare_faust(self, settings: Settings, name: str) -> Process:
        env = {
            "ENVWATCH_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "ENVWATCH_TOPIC_PREFIX": settings.topic_prefix,
            "ENVWATCH_TOPIC_PARTITIONS": str(settings.topic_partitions),
            "ENVWATCH_APP_ID": settings.app_id,
            "ENVWATCH_WORKER_WEB_PORT": str(free_port()),
        }
        return self._spawn(["-m", "bench.bare_faust"], env, name)

    def _spawn(self, args: list[str], env: dict[str, str], name: str) -> Process:
        port = free_port()
        cwd = self.root / name
        cwd.mkdir(exist_ok=True)
        env = env | {"ENVWATCH_METRICS_PORT": str(port)}
        process = Process(args, env, port, self.root / f"{name}.log", cwd).start()
        self.processes.append(process)
        return process

    def stop(self, processes: Iterable[Process] | None = None) -> None:
        for process in list(processes if processes is not None else self.processes):
            process.stop()
            if process in self.processes:
                self.processes.remove(process)
        if processes is None:
            if self.broker is not None:
                self.broker.stop()
            if self.postgres is not None:
                self.postgres.stop()
