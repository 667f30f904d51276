"""Session-wide embedded broker and PostgreSQL; per-test topics, app id and ports.

Tests are in tiers by folder: ``unit`` (pure, no I/O), ``integration`` (the embedded broker,
a real PostgreSQL, worker processes) and ``e2e`` (all of that with Prometheus and
Alertmanager). The services start only when a test asks for them. With
``ENVWATCH_TEST_DATABASE_URL`` (an owner role on an existing server) the suite's PostgreSQL is
a database of its own on that server instead of the embedded one; the tests that need the
timescaledb extension run only where it is installed.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest

from envwatch.embedded import (
    READER_ROLE,
    WRITER_ROLE,
    EmbeddedBroker,
    EmbeddedPostgres,
    free_port,
)
from schemas.migrate import migrate, timescale_available
from schemas.register_sync import sync_register
from streams.settings import Settings, load_settings
from streams.topics import ensure_topics
from tests.support.database import TEST_DATABASE_URL, ServerDatabase, own_database
from tests.support.relay import Relays, Robot
from tests.support.services import EnvwatchProcess, GatewayProcess, WorkerProcess, own_postgres

P = TypeVar("P", bound=EnvwatchProcess)
FIGURES = "figures"  # a report's user property: what a reliability test sent, stored, ...
_FIGURES: list[tuple[str, dict[str, Any]]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collects the figures of each test's report, in the process that prints the summary
    (reports come back from pytest-xdist's workers with their user properties)."""
    if report.when == "call":
        name = report.nodeid.rpartition("::")[2]
        _FIGURES.extend((name, values) for key, values in report.user_properties if key == FIGURES)


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Records a test's figures in its report, printed in the terminal summary so that a CI log
    can be quoted."""

    def record(**values: Any) -> None:
        request.node.user_properties.append((FIGURES, values))
        print(f"\nfigures {request.node.name}: " + ", ".join(f"{k}={v}" for k, v in values.items()))

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for name, values in _FIGURES:
        terminalreporter.write_line(f"{name}: " + ", ".join(f"{k}={v}" for k, v in values.items()))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if "/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "/e2e/" in path:
            item.add_marker(pytest.mark.e2e)
        elif "/reliability/" in path:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    started = EmbeddedBroker(log_path=tmp_path_factory.mktemp("broker") / "broker.log").start()
    yield started
    started.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres | ServerDatabase]:
    """The session's PostgreSQL, migrated, with the city's register: a database of its own on
    the server of ``ENVWATCH_TEST_DATABASE_URL``, or else the embedded server."""
    server_url = os.environ.get(TEST_DATABASE_URL)
    if server_url:
        with own_database(server_url, "envwatch_test") as url:
            database = ServerDatabase(server_url, url)
            migrate(database.url())
            with psycopg.connect(database.url()) as conn:
                if timescale_available(conn):
                    database.hold_retention()
            database.give_passwords(WRITER_ROLE, READER_ROLE)
            sync_register(database.url())
            yield database
        return
    with own_postgres() as server:
        migrate(server.url())
        sync_register(server.url())
        yield server


@pytest.fixture
def settings(broker: EmbeddedBroker, postgres: EmbeddedPostgres) -> Settings:
    """Settings of one test: its own topics and consumer group on the shared services."""
    tag = uuid.uuid4().hex[:8]
    made = load_settings(
        kafka_bootstrap=broker.bootstrap,
        database_url=postgres.url(WRITER_ROLE),
        database_admin_url=postgres.url(),
        topic_prefix=f"t{tag}",
        app_id=f"envwatch-test-{tag}",
        metrics_port=free_port(),
        topic_partitions=2,
    )
    ensure_topics(made)
    return made


@pytest.fixture
def admin_db(postgres: EmbeddedPostgres | ServerDatabase) -> Iterator[psycopg.Connection]:
    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        yield conn


@pytest.fixture
def scratch_url(postgres: EmbeddedPostgres | ServerDatabase) -> Iterator[str]:
    """An empty database beside the session's, on the same server, dropped afterwards."""
    with own_database(postgres.url(), "envwatch_scratch") as url:
        yield url


@pytest.fixture
def timescale(admin_db: psycopg.Connection) -> None:
    """For tests of the TimescaleDB path: skipped, saying why, where the server has none."""
    row = admin_db.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    if row is None:
        pytest.skip(
            "the test server has no timescaledb extension (the embedded PostgreSQL never has); "
            f"set {TEST_DATABASE_URL} to a TimescaleDB server to run this"
        )


def _starter(tmp_path: Path, kind: type[P], started: list[EnvwatchProcess]) -> Callable[..., P]:
    def start(settings: Settings, **env: str) -> P:
        name = kind.__name__.removesuffix("Process").lower()
        process = kind(settings, tmp_path / f"{name}-{len(started)}.log", env=env)
        started.append(process)
        return process.start()

    return start


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[EnvwatchProcess] = []
    yield _starter(tmp_path, WorkerProcess, started)
    for process in started:
        process.stop()


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    started: list[EnvwatchProcess] = []
    yield _starter(tmp_path, GatewayProcess, started)
    for process in started:
        process.stop()


_windows = itertools.count()


@pytest.fixture
def window() -> datetime:
    """A start time no other test of the session uses, so row counts are this test's own."""
    return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=10 * next(_windows))


@pytest.fixture
def robot() -> Robot:
    """Stand-in WeCom / DingTalk robots that record what the relay posts."""
    return Robot()


@pytest.fixture
def start_relay(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Starts `envwatch notify` processes (``start_relay(**env)`` returns its URL)."""
    relays = Relays(tmp_path)
    yield relays.start
    relays.stop()
