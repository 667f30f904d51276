"""A second pytest session on the same machine leaves this session's PostgreSQL alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from envwatch.embedded import EmbeddedPostgres


def test_a_second_session_does_not_lock_out_the_database(
    postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    if not isinstance(postgres, EmbeddedPostgres):
        pytest.skip("about the embedded server's data folder; the suite uses an existing server")
    other = tmp_path / "test_other_session.py"
    other.write_text("def test_uses_tmp_path(tmp_path):\n    assert tmp_path.is_dir()\n")
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(other)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    # The server still reaches its data: a write forces it to touch its own files.
    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS second_session_probe (n int)")
        conn.execute("INSERT INTO second_session_probe VALUES (1)")
        conn.execute("CHECKPOINT")
        conn.execute("DROP TABLE second_session_probe")
    postgres.stop()
    postgres.start()  # the service user can still stop and start it
    with psycopg.connect(postgres.url()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
