"""Apply the numbered SQL migrations in ``schemas/sql`` once each, in order.

A migration ``NNN_name.sql`` runs on every database; ``NNN_name.timescale.sql`` and
``NNN_name.plain.sql`` are the two variants of one step, chosen by whether the timescaledb
extension is available, so both paths expose the same tables, views and columns.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

SQL_DIR = Path(__file__).with_name("sql")
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+?)(?:\.(timescale|plain))?\.sql$")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def plan(timescale: bool, directory: Path = SQL_DIR) -> list[Migration]:
    """The migrations for one path, in order; a variant for the other path is skipped."""
    wanted = "timescale" if timescale else "plain"
    steps: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise ValueError(f"{path.name}: migration names are NNN_name[.timescale|.plain].sql")
        version, name, variant = int(match[1]), match[2], match[3]
        if variant in (None, wanted):
            if version in steps:
                raise ValueError(f"{path.name}: version {version:03d} appears twice")
            steps[version] = Migration(version, name, path)
    return [steps[v] for v in sorted(steps)]


def timescale_available(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    return row is not None


def migrate(url: str) -> list[str]:
    """Bring the database up to date; returns the names applied now (empty when current)."""
    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version int PRIMARY KEY, name text NOT NULL, variant text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        timescale = timescale_available(conn)
        done = {v for (v,) in conn.execute("SELECT version FROM schema_migrations")}
        for step in plan(timescale):
            if step.version in done:
                continue
            log.info("applying migration %s", step.path.name)
            # Continuous aggregates cannot be created inside a transaction block, so each
            # file runs statement by statement in autocommit; every statement is idempotent.
            conn.execute(step.path.read_text(encoding="utf-8").encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name, variant) VALUES (%s, %s, %s)",
                (step.version, step.name, "timescale" if timescale else "plain"),
            )
            applied_now.append(step.path.name)
    return applied_now
