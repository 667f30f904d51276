"""Fixtures of the reliability suite: monitoring and services on demand. Each test records its
figures (what it sent, stored, dead-lettered and was notified of) with ``figures``, from
tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.faults import FastAlertmanager
from tests.support.monitoring import Prometheus, Webhook
from tests.support.services import ProxiedBroker


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
