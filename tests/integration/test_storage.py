"""Migrations, the plain-PostgreSQL views, and the two roles, on a real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from envwatch.embedded import READER_ROLE, WRITER_ROLE
from schemas.migrate import SQL_DIR, migrate, plan

AGGREGATE_COLUMNS = [
    "bucket",
    "feed",
    "site_id",
    "parameter",
    "avg_value",
    "min_value",
    "max_value",
    "samples",
]


def test_migrations_run_twice_and_every_file_is_idempotent(postgres, admin_db):
    assert migrate(postgres.url()) == []  # the session fixture applied them already
    for step in plan(timescale=False):
        admin_db.execute(step.path.read_text(encoding="utf-8").encode())
    assert migrate(postgres.url()) == []
    versions = [v for (v,) in admin_db.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [s.version for s in plan(timescale=False)]


def test_both_paths_have_the_same_steps():
    plain, timescale = plan(timescale=False), plan(timescale=True)
    assert [s.version for s in plain] == [s.version for s in timescale]
    assert all(".timescale." not in s.path.name for s in plain)
    assert any(".timescale." in s.path.name for s in timescale)
    assert {p.name for p in SQL_DIR.glob("*.sql")} >= {s.path.name for s in plain + timescale}


@pytest.mark.parametrize("view", ["readings_hourly", "readings_daily"])
def test_aggregate_views_answer_with_the_continuous_aggregate_columns(admin_db, window, view):
    rows = [
        (window + timedelta(minutes=10 * i), "water", "wq-hengjin-01", "do", 5.0 + i)
        for i in range(12)
    ]
    with admin_db.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (ts, feed, site_id, parameter, value) "
            "VALUES (%s, %s, %s, %s, %s)",
            rows,
        )
    cur = admin_db.execute(
        f"SELECT * FROM {view} WHERE site_id = 'wq-hengjin-01' AND parameter = 'do' "
        "AND bucket >= %s - interval '1 day' AND bucket < %s + interval '1 day' ORDER BY bucket",
        (window, window),
    )
    assert [c.name for c in cur.description] == AGGREGATE_COLUMNS
    result = cur.fetchall()
    if view == "readings_hourly":
        assert [(r[4], r[5], r[6], r[7]) for r in result] == [
            (7.5, 5.0, 10.0, 6),
            (13.5, 11.0, 16.0, 6),
        ]
    else:
        assert [(r[4], r[7]) for r in result] == [(10.5, 12)]


def test_reader_cannot_write_and_writer_cannot_change_the_schema(postgres):
    with psycopg.connect(postgres.url(READER_ROLE)) as reader:
        assert reader.execute("SELECT count(*) FROM readings").fetchone() is not None
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute(
                "INSERT INTO readings (ts, feed, site_id, parameter, value) "
                "VALUES (now(), 'air', 'x', 'pm25_1h', 1)"
            )
    with psycopg.connect(postgres.url(WRITER_ROLE)) as writer:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            writer.execute("CREATE TABLE intruder (x int)")
        writer.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            writer.execute("DROP TABLE readings")
        writer.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            writer.execute("DELETE FROM readings")
