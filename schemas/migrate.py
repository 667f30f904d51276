"""Bring a database up to date: the numbered migrations once each, then the feed tables.

A migration ``NNN_name.sql`` in ``schemas/sql`` runs on every database; ``NNN_name.timescale.sql``
and ``NNN_name.plain.sql`` are the two variants of one step, chosen by whether the timescaledb
extension is available, so both paths expose the same tables, views and columns. Step 009 is
generated from the registry (``schemas/legacy.py``: the old ``readings`` rows into the feed
tables). The feed tables, aggregates and grants (``schemas/tables.py``) are applied after the
numbered steps on every run, and before step 009, which needs them: a feed added to the
registry gets its table at the next migrate, and a quantity added to a feed its column.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import psycopg

from schemas import legacy, tables
from schemas.feed import Feed
from schemas.feeds import FEEDS

SQL_DIR = Path(__file__).with_name("sql")
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+?)(?:\.(timescale|plain))?\.sql$")
GENERATED = {9: "readings_to_feed_tables"}  # steps made from the registry, not read from a file
log = logging.getLogger(__name__)


class MigrationError(RuntimeError):
    """A step that cannot complete as the database stands; the message says what to check."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path | None  # None: generated from the registry


def plan(timescale: bool, directory: Path = SQL_DIR) -> list[Migration]:
    """The migrations for one path, in order; a variant for the other path is skipped."""
    wanted = "timescale" if timescale else "plain"
    steps = {v: Migration(v, name, None) for v, name in GENERATED.items()}
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


def migrate(
    url: str, feeds: Collection[Feed] = FEEDS.values(), upto: int | None = None
) -> list[str]:
    """Bring the database up to date (or to version ``upto``, without the feed tables);
    returns what was applied or changed now (empty when current)."""
    changed: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version int PRIMARY KEY, name text NOT NULL, variant text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        timescale = timescale_available(conn)
        done = {v for (v,) in conn.execute("SELECT version FROM schema_migrations")}
        schema_applied = False
        for step in plan(timescale):
            if upto is not None and step.version > upto:
                break
            if step.version in done:
                continue
            log.info("applying migration %03d %s", step.version, step.name)
            if step.path is None:
                if not schema_applied:
                    changed += apply_feed_schema(conn, feeds, timescale)
                    schema_applied = True
                move_legacy_readings(conn, feeds)
            else:
                # Continuous aggregates cannot be created inside a transaction block, so each
                # file runs statement by statement in autocommit; every statement is idempotent.
                conn.execute(step.path.read_text(encoding="utf-8").encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name, variant) VALUES (%s, %s, %s)",
                (step.version, step.name, "timescale" if timescale else "plain"),
            )
            changed.append(step.path.name if step.path else f"{step.version:03d}_{step.name}")
        if upto is None and not schema_applied:
            changed += apply_feed_schema(conn, feeds, timescale)
    return changed


def _columns(conn: psycopg.Connection, relation: str) -> list[str]:
    """A table's or view's columns in order; empty when there is no such relation."""
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0"
        " AND NOT attisdropped ORDER BY attnum",
        (relation,),
    )
    return [name for (name,) in rows]


def _continuous(conn: psycopg.Connection, view: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM timescaledb_information.continuous_aggregates WHERE view_name = %s",
        (view,),
    ).fetchone()
    return row is not None


def apply_feed_schema(
    conn: psycopg.Connection, feeds: Collection[Feed], timescale: bool
) -> list[str]:
    """Tables, new columns, hypertables, aggregates, revisions and grants of every feed;
    idempotent. Returns the tables, columns and aggregates it created."""
    changed: list[str] = []
    conn.execute(tables.valid_function())
    for feed in feeds:
        for table in (tables.readings_table(feed), tables.revisions_table(feed)):
            changed += _ensure_table(conn, table)
        for statement in tables.indexes(feed):
            conn.execute(statement)
        for statement in tables.hypertable(feed) if timescale else []:
            conn.execute(statement)
        for agg in tables.AGGREGATES:
            changed += _ensure_aggregate(conn, feed, agg, timescale)
        for statement in tables.grants(feed):
            conn.execute(statement)
    return changed


def _ensure_table(conn: psycopg.Connection, table: tables.Table) -> list[str]:
    """Creates the table, or adds the columns it lacks; returns what it created or added."""
    existing = _columns(conn, table.name)
    if not existing:
        conn.execute(tables.create_table(table))
        return [table.name]
    missing = [name for name, _ in table.columns if name not in existing]
    if missing:
        conn.execute(tables.add_columns(table, missing))
    return [f"{table.name}.{name}" for name in missing]


def _ensure_aggregate(
    conn: psycopg.Connection, feed: Feed, agg: tables.Aggregate, timescale: bool
) -> list[str]:
    """Creates the aggregate, or makes it again when its columns (a quantity added) or its kind
    (the extension installed since) differ; rows of a continuous aggregate are materialized
    again by its policy, and answered from the raw rows until then."""
    name = tables.aggregate(feed, agg)
    columns = _columns(conn, name)
    materialized = timescale and bool(columns) and _continuous(conn, name)
    if columns == tables.aggregate_columns(feed) and materialized == timescale:
        return []
    if columns:
        conn.execute(tables.drop_aggregate(name, materialized))
    for statement in tables.create_aggregate(feed, agg, timescale):
        conn.execute(statement)
    return [name]


def move_legacy_readings(conn: psycopg.Connection, feeds: Collection[Feed]) -> int:
    """Migration 009: every old row into its feed table, a site per transaction; returns the
    readings written or filled. Fails, naming them, on rows it cannot place or that differ from
    what the feed table already holds at their key; ``readings`` keeps them either way."""
    by_name = {f.name: f for f in feeds}
    sites = conn.execute(legacy.SITES).fetchall()
    names: dict[str, set[str]] = defaultdict(set)
    for feed_name, _, parameters in sites:
        names[feed_name].update(parameters)
    unplaced = {
        feed: legacy.unknown_parameters(by_name[feed], sorted(found))
        if feed in by_name
        else sorted(found)
        for feed, found in names.items()
    }
    unplaced = {feed: found for feed, found in unplaced.items() if found}
    if unplaced:
        raise MigrationError(
            f"{legacy.LEGACY}: rows the feed registry cannot place, nothing moved: {unplaced}"
        )
    written, differ = 0, []
    for feed_name, site, _ in sites:
        feed, where = by_name[feed_name], {"feed": feed_name, "site": site}
        with conn.transaction():
            written += conn.execute(legacy.move(feed), where).rowcount
            differ += [
                (feed_name, site, *row) for row in conn.execute(legacy.differing(feed), where)
            ]
    if differ:
        raise MigrationError(
            f"old values that differ from the reading stored at their key: {len(differ)}, kept "
            f"in {legacy.LEGACY} only; first (feed, site, parameter, ts, old, stored): {differ[0]}"
        )
    log.info("old rows of %d sites moved: %d readings written or filled", len(sites), written)
    return written
