"""``envwatch run``: start what is not configured, then the worker and the simulator.

Whatever is configured (``ENVWATCH_KAFKA_BOOTSTRAP``, ``ENVWATCH_DATABASE_URL``) is used as
it is; whatever is not is started embedded. The worker and the simulator run as child
processes with the resolved settings in their environment, exactly as they would in
production; Ctrl-C stops everything this command started, in reverse order.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from envwatch.embedded import WRITER_ROLE, EmbeddedBroker, EmbeddedPostgres, stop_process
from envwatch.settings import Settings, load_settings
from envwatch.summary import Summary
from schemas.migrate import migrate
from schemas.register_sync import sync_register
from streams.topics import ensure_topics

log = logging.getLogger(__name__)


def resolve(settings: Settings, stack: ExitStack) -> Settings:
    """Start the embedded services that are missing; returns settings that name them all."""
    overrides: dict[str, object] = {}
    state = settings.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    if not settings.kafka_configured:
        broker = EmbeddedBroker(log_path=state / "broker.log").start()
        stack.callback(broker.stop)
        overrides["kafka_bootstrap"] = broker.bootstrap
    if not settings.database_configured:
        postgres = EmbeddedPostgres(state / "postgres").start()
        stack.callback(postgres.stop)
        overrides["database_admin_url"] = postgres.url()
        overrides["database_url"] = postgres.url(WRITER_ROLE)
    return load_settings(**overrides) if overrides else settings


def child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["ENVWATCH_KAFKA_BOOTSTRAP"] = settings.kafka_bootstrap
    env["ENVWATCH_DATABASE_URL"] = settings.database_url.get_secret_value()
    return env


def spawn(
    stack: ExitStack, args: list[str], env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    out = log_path.open("ab")
    stack.callback(out.close)
    process = subprocess.Popen(
        [sys.executable, "-m", "envwatch.cli", *args], env=env, stdout=out, stderr=subprocess.STDOUT
    )
    stack.callback(_stop, process)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT, as Ctrl-C would send: the worker commits what it has stored and leaves."""
    stop_process(process, 15.0, signal.SIGINT)


def run(settings: Settings, simulate_args: list[str], duration_s: float | None) -> int:
    with ExitStack() as stack:
        settings = resolve(settings, stack)
        migrate(settings.admin_url)
        sync_register(settings.admin_url, settings.reference_dir)
        ensure_topics(settings)
        state = settings.state_dir.resolve()
        env = child_env(settings)
        worker = spawn(stack, ["worker"], env, state / "worker.log")
        simulator = spawn(stack, ["simulate", *simulate_args], env, state / "simulate.log")
        print(
            f"broker {settings.kafka_bootstrap}; metrics http://127.0.0.1:{settings.metrics_port}"
            f"/metrics; logs in {state}; Ctrl-C stops",
            flush=True,
        )
        summary = Summary(f"http://127.0.0.1:{settings.metrics_port}/metrics")
        deadline = None if duration_s is None else time.monotonic() + duration_s
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(2.0)
                for name, process in (("worker", worker), ("simulator", simulator)):
                    if process.poll() is not None and process.returncode != 0:
                        print(f"{name} exited with {process.returncode}; see {state}/{name}.log")
                        return 1
                print(summary.line(), flush=True)
        except KeyboardInterrupt:
            print("\nstopping", flush=True)
    return 0
