"""The suite's database on an existing PostgreSQL server, for ``ENVWATCH_TEST_DATABASE_URL``.

The URL names the server and its owner role (one that may create databases and roles). The
suite makes a database of its own there and drops it at the end, so it can share a server;
the writer and reader roles are the server's, and get the owner's password so that they can
log in over TCP as the worker and Grafana do. An outage is the database refusing connections
(``ALLOW_CONNECTIONS false``) with its sessions ended: what a client sees of a server down.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from alerts.assessment.scope import BASES
from alerts.assessment.year import Year, assess
from alerts.city import Reads
from alerts.standards.editions import CST
from alerts.targets import load_targets
from envwatch.embedded import wait_until
from schemas import tables
from schemas.feed import Reading
from schemas.feeds import FEEDS
from schemas.reference import load_reference
from schemas.resent import Source
from streams.assessment_rows import rows_of
from streams.rows import row_of
from streams.settings import Settings
from streams.sink import ReadingSink, Written
from streams.target_storage import TargetStorage
from streams.worker import target_register

TEST_DATABASE_URL = "ENVWATCH_TEST_DATABASE_URL"


@contextmanager
def own_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new database on the server of ``admin_url``, dropped on exit; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(admin_url, dbname=name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@dataclass
class ServerDatabase:
    """The suite's database on an existing server; the same calls as ``EmbeddedPostgres``."""

    server_url: str  # the owner role, on any database of the server
    database_url: str  # the owner role, on the suite's database

    @property
    def name(self) -> str:
        return conninfo_to_dict(self.database_url)["dbname"]

    def url(self, user: str | None = None) -> str:
        """The suite's database as ``user`` (the owner by default)."""
        return self.database_url if user is None else make_conninfo(self.database_url, user=user)

    def give_passwords(self, *roles: str) -> None:
        """The owner's password for roles that log in over TCP; none where it has none."""
        password = conninfo_to_dict(self.server_url).get("password")
        if not password:
            return
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            for role in roles:
                conn.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(password)
                    )
                )

    def hold_retention(self) -> None:
        """The suite's readings reach back to 2016 (the 2012 editions of the standards), past
        the 5 years TimescaleDB keeps: the retention jobs of the suite's database are held
        until it is dropped, so that none drops a test's rows under it. Still registered, with
        their schedules, for the tests that check them."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(
                "SELECT alter_job(job_id, next_start => 'infinity')"
                " FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'"
            )

    def stop(self) -> None:
        """The database refuses every connection and its sessions end, as if it were down."""
        self._allow_connections(False)
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.name,),
            )

    def start(self) -> ServerDatabase:
        self._allow_connections(True)
        return self

    def _allow_connections(self, allow: bool) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
                    sql.Identifier(self.name), sql.Literal(allow)
                )
            )


def refresh_aggregates(db: psycopg.Connection, start: datetime, end: datetime) -> None:
    """On TimescaleDB, every feed's aggregates materialized again over [start, end), widened
    to whole days and ending before the open hour, as the policies do. A reading stored below
    an aggregate's watermark (older than its last refresh) enters it at the next refresh, which
    its policy runs within its schedule; a test cannot wait for that. The plain path's views
    are computed at each query: nothing to do."""
    if not db.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone():
        return
    window = (start - timedelta(days=2), min(end + timedelta(days=2), _closed_hour()))
    for feed in FEEDS.values():
        for agg in tables.AGGREGATES:
            name = tables.aggregate(feed, agg)
            wait_until(partial(_refreshed, db, name, window), 30, f"a refresh of {name}")


def _refreshed(db: psycopg.Connection, name: str, window: tuple[datetime, datetime]) -> bool:
    """False while the policy refreshes the same aggregate (it may start with the aggregate)."""
    try:
        db.execute("CALL refresh_continuous_aggregate(%s, %s, %s)", (name, *window))
    except psycopg.errors.LockNotAvailable:
        return False
    return True


def _closed_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def store(url: str, feed: str, *batches: Sequence[Reading]) -> list[int]:
    """Readings written as the worker writes them, a transaction per batch; new rows of each."""
    return [written.new for written in write(url, feed, *batches)]


def write(url: str, feed: str, *batches: Sequence[Reading], offset: int = 0) -> list[Written]:
    """Readings written as the worker writes them, a transaction per batch, from offsets of a
    topic ``test.<feed>`` counted from ``offset`` (the same again: a replay); what each did."""
    offsets = itertools.count(offset)

    async def run() -> list[Written]:
        sink = ReadingSink(url, FEEDS[feed])
        try:
            out = []
            for batch in batches:
                rows = [row_of(feed, r) for r in batch]
                origins = [Source(f"test.{feed}", 0, next(offsets)) for _ in batch]
                out.append(await sink.write(rows, origins=origins))
            return out
        finally:
            await sink.close()

    return asyncio.run(run())


def assess_stored(url: str) -> None:
    """The plan targets and period results of the newest year in the database of ``url``,
    assessed on both bases and stored as the city's worker stores them."""
    reference = load_reference()
    register, targets = target_register(reference), load_targets()
    warning = Settings.model_fields["bad_day_budget_warning"].default

    async def run() -> None:
        storage = TargetStorage(url, FEEDS)
        try:
            newest = await storage.newest()
            year = (newest or datetime.now(UTC)).astimezone(CST).year
            for basis in BASES:
                found = Year(year)
                await storage.read(found, basis, Reads(year=True))
                await storage.write(rows_of(assess(found, register, targets, warning)), year, basis)
        finally:
            await storage.close()

    asyncio.run(run())
