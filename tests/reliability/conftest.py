"""Fixtures of the reliability suite: monitoring on demand, and the figures each test reports.

Each test records what it sent, stored, dead-lettered and was notified of; the figures are
printed in the terminal summary so that a CI log can be quoted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.faults import FastAlertmanager
from tests.support.monitoring import Prometheus, Webhook
from tests.support.services import ProxiedBroker

_FIGURES: list[tuple[str, dict[str, Any]]] = []


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    def record(**values: Any) -> None:
        _FIGURES.append((request.node.name, values))
        print(f"\nfigures {request.node.name}: " + ", ".join(f"{k}={v}" for k, v in values.items()))

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for name, values in _FIGURES:
        terminalreporter.write_line(f"{name}: " + ", ".join(f"{k}={v}" for k, v in values.items()))


@pytest.fixture
def proxied_broker(tmp_path: Path) -> Iterator[ProxiedBroker]:
    """A broker of the test's own behind a proxy; ask for it before ``start_worker``, so that
    the worker is stopped while the broker still answers."""
    broker = ProxiedBroker(tmp_path / "broker.log").start()
    yield broker
    broker.stop()


@pytest.fixture
def monitoring(tmp_path: Path) -> Iterator[Callable[..., tuple[Webhook, Any, Prometheus]]]:
    """Start Alertmanager (shipped routing, test waits) and Prometheus on the given targets."""
    started: list[Any] = []

    def start(
        targets: list[int], **prometheus: Any
    ) -> tuple[Webhook, FastAlertmanager, Prometheus]:
        webhook = Webhook()
        started.append(webhook)
        am = FastAlertmanager(tmp_path, webhook).start()
        started.append(am)
        prom = Prometheus(tmp_path, targets[0], [am.port], targets=targets, **prometheus).start()
        started.append(prom)
        return webhook, am, prom

    yield start
    for thing in reversed(started):
        if isinstance(thing, Webhook):
            thing.close()
        else:
            thing.stop()
