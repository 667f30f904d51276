"""``envwatch run``: start what is not configured, then the worker and the simulator.

Whatever is configured (``ENVWATCH_KAFKA_BOOTSTRAP``, ``ENVWATCH_DATABASE_URL``) is used as
it is; whatever is not is started embedded. The worker and the simulator run as child
processes with the resolved settings in their environment, exactly as they would in
production. Ctrl-C, or SIGTERM (what ``docker stop``, systemd and CI send), stops everything
this command started: the worker and the simulator together, given ``CHILD_STOP_S`` to finish
before they are killed, then PostgreSQL and the broker.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType

from envwatch.embedded import WRITER_ROLE, EmbeddedBroker, EmbeddedPostgres, stop_processes
from envwatch.summary import Summary
from schemas.migrate import migrate
from schemas.register_sync import sync_register
from streams.settings import Settings, load_settings
from streams.topics import ensure_topics

log = logging.getLogger(__name__)

# How long the worker and the simulator get to stop (the worker commits what it has stored)
# before they are killed; the README states the bound that follows from it.
CHILD_STOP_S = 15.0


class Stopping(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: everything started is stopped on the way out."""


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
    return subprocess.Popen(
        [sys.executable, "-m", "envwatch.cli", *args], env=env, stdout=out, stderr=subprocess.STDOUT
    )


def _terminated(signum: int, _frame: FrameType | None) -> None:
    raise Stopping(signal.Signals(signum).name)


def _still_stopping(signum: int, _frame: FrameType | None) -> None:
    print(f"{signal.Signals(signum).name}: still stopping", flush=True)


@contextmanager
def _signals_handled() -> Iterator[None]:
    """SIGTERM raises :class:`Stopping`; the previous handlers come back afterwards."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(settings: Settings, simulate_args: list[str], duration_s: float | None) -> int:
    stack = ExitStack()
    with _signals_handled():
        interrupted = False
        try:
            return _supervise(stack, settings, simulate_args, duration_s)
        except KeyboardInterrupt as stop:
            interrupted = True
            print(
                f"\n{stop or 'SIGINT'}: stopping everything this command started "
                f"(the worker and simulator get {CHILD_STOP_S:.0f} s)",
                flush=True,
            )
            return 0
        finally:
            # A second signal while stopping must not cut the stop short and orphan a child.
            signal.signal(signal.SIGINT, _still_stopping)
            signal.signal(signal.SIGTERM, _still_stopping)
            stack.close()
            if interrupted:
                print("stopped", flush=True)


def _supervise(
    stack: ExitStack, settings: Settings, simulate_args: list[str], duration_s: float | None
) -> int:
    settings = resolve(settings, stack)
    migrate(settings.admin_conninfo)
    sync_register(settings.admin_conninfo, settings.reference_dir)
    ensure_topics(settings)
    state = settings.state_dir.resolve()
    env = child_env(settings)
    children: list[subprocess.Popen[bytes]] = []
    stack.callback(stop_processes, children, CHILD_STOP_S, signal.SIGINT)
    worker = spawn(stack, ["worker"], env, state / "worker.log")
    children.append(worker)
    simulator = spawn(stack, ["simulate", *simulate_args], env, state / "simulate.log")
    children.append(simulator)
    print(
        f"broker {settings.kafka_bootstrap}; metrics http://127.0.0.1:{settings.metrics_port}"
        f"/metrics; logs in {state}; Ctrl-C stops",
        flush=True,
    )
    summary = Summary(f"http://127.0.0.1:{settings.metrics_port}/metrics")
    deadline = None if duration_s is None else time.monotonic() + duration_s
    while deadline is None or time.monotonic() < deadline:
        time.sleep(2.0)
        for name, process in (("worker", worker), ("simulator", simulator)):
            if process.poll() is not None and process.returncode != 0:
                print(f"{name} exited with {process.returncode}; see {state}/{name}.log")
                return 1
        print(summary.line(), flush=True)
    return 0
