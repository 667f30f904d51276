"""Every command, failing as a user would make it fail: one line on stderr, a non-zero exit.

Each case runs the real command as a child process against something real that is down,
wrong or in the way (a port nobody listens on, a port held by another socket, a broken
register), and checks the line names what failed and what to check, with no traceback.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from envwatch.embedded import WRITER_ROLE, free_port
from schemas.reference import DEFAULT_DIR
from tests.support.services import own_postgres

SECRET = "Pa55-w0rd-9c1e"


def envwatch(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """The command with only the given settings (none inherited from the test's shell)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ENVWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "envwatch.cli", *args],
        env=clean | {"ENVWATCH_KAFKA_CONNECT_TIMEOUT_S": "2"} | env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING) [\w.]+: ")


def one_line(done: subprocess.CompletedProcess[str], command: str, *words: str) -> str:
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output[-3000:]
    assert done.returncode != 0, output[-3000:]
    # The failure is one line; log records the command wrote before it (a relay's start-up
    # notes on its settings) are not part of it.
    lines = [line for line in done.stderr.strip().splitlines() if not LOG_RECORD.match(line)]
    assert len(lines) == 1, done.stderr[-3000:]
    (line,) = lines
    assert line.startswith(f"envwatch {command}: "), line
    for word in words:
        assert word in line, (word, line)
    assert SECRET not in output
    print(line)
    return line


@pytest.fixture
def nobody() -> str:
    """An address on which nothing listens."""
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another socket already listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.fixture
def readings_file(tmp_path: Path) -> Path:
    path = tmp_path / "air.csv"
    path.write_text("station_id,ts,pm25\nair-wuyi-02,2026-11-28T08:00:00+08:00,30\n")
    return path


def test_push_to_a_broker_that_is_down_fails_fast(nobody, readings_file):
    began = time.monotonic()
    done = envwatch("push", str(readings_file), "--feed", "air", ENVWATCH_KAFKA_BOOTSTRAP=nobody)
    took = time.monotonic() - began
    one_line(done, "push", "cannot reach the Kafka broker", nobody, "ENVWATCH_KAFKA_BOOTSTRAP")
    print(f"push gave up after {took:.1f} s (connect timeout 2 s)")


def test_push_a_file_that_is_not_there(nobody, tmp_path):
    missing = tmp_path / "nowhere.csv"
    done = envwatch("push", str(missing), "--feed", "air", ENVWATCH_KAFKA_BOOTSTRAP=nobody)
    one_line(done, "push", str(missing), "no such file")


def test_topics_with_a_broker_that_is_down(nobody):
    one_line(envwatch("topics", ENVWATCH_KAFKA_BOOTSTRAP=nobody), "topics", "cannot reach", nobody)


def test_simulate_with_a_broker_that_is_down(nobody):
    done = envwatch("simulate", ENVWATCH_KAFKA_BOOTSTRAP=nobody)
    one_line(done, "simulate", "cannot reach the Kafka broker", nobody)


def test_simulate_with_a_broken_register(nobody, tmp_path):
    folder = tmp_path / "register"
    shutil.copytree(DEFAULT_DIR, folder)
    stations = folder / "stations.csv"
    lines = stations.read_text(encoding="utf-8").splitlines()
    cells = lines[2].split(",")
    cells[lines[0].split(",").index("zone_class")] = "7"  # a zone class that does not exist
    lines[2] = ",".join(cells)
    stations.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = envwatch("simulate", ENVWATCH_KAFKA_BOOTSTRAP=nobody, ENVWATCH_REFERENCE_DIR=str(folder))
    one_line(done, "simulate", "register", str(folder), "stations.csv, line 3")


def test_a_setting_that_is_not_a_number():
    done = envwatch("topics", ENVWATCH_METRICS_PORT="ninety")
    one_line(done, "topics", "invalid setting ENVWATCH_METRICS_PORT")


def test_worker_with_a_broker_that_is_down(nobody):
    url = f"postgresql://{WRITER_ROLE}:{SECRET}@{nobody}/envwatch"
    done = envwatch("worker", ENVWATCH_KAFKA_BOOTSTRAP=nobody, ENVWATCH_DATABASE_URL=url)
    one_line(done, "worker", "cannot reach the Kafka broker", nobody)


def test_worker_with_a_database_that_is_down(broker, nobody):
    url = f"postgresql://{WRITER_ROLE}:{SECRET}@{nobody}/envwatch"
    done = envwatch("worker", ENVWATCH_KAFKA_BOOTSTRAP=broker.bootstrap, ENVWATCH_DATABASE_URL=url)
    one_line(done, "worker", "cannot connect to the database", "Connection refused")


def test_worker_whose_metrics_port_is_taken(broker, postgres, held_port):
    done = envwatch(
        "worker",
        ENVWATCH_KAFKA_BOOTSTRAP=broker.bootstrap,
        ENVWATCH_DATABASE_URL=postgres.url(WRITER_ROLE),
        ENVWATCH_METRICS_PORT=str(held_port),
        ENVWATCH_WORKER_WEB_PORT=str(free_port()),
    )
    one_line(done, "worker", "cannot listen", "ENVWATCH_METRICS_PORT")


def test_migrate_with_a_database_that_is_down(nobody):
    url = f"postgresql://postgres:{SECRET}@{nobody}/envwatch"
    done = envwatch("migrate", ENVWATCH_DATABASE_ADMIN_URL=url)
    one_line(done, "migrate", "cannot connect to the database", "ENVWATCH_DATABASE_ADMIN_URL")


@pytest.mark.parametrize(
    "url",
    [
        f"postgres:{SECRET}@localhost",  # no scheme: libpq reads it as key=value and fails
        f"postgresql://postgres:{SECRET}@127.0.0.1:99999/envwatch",  # no such port number
        f"host=127.0.0.1 password={SECRET} sslmode=sometimes",
    ],
)
def test_migrate_with_a_url_that_is_wrong_never_repeats_the_password(url):
    done = envwatch("migrate", ENVWATCH_DATABASE_ADMIN_URL=url)
    one_line(done, "migrate", "database")


def test_dashboards_push_to_a_grafana_that_is_down(nobody):
    done = envwatch("dashboards", "push", ENVWATCH_GRAFANA_URL=f"http://{nobody}")
    one_line(done, "dashboards push", f"cannot reach http://{nobody}", "ENVWATCH_GRAFANA_URL")


def test_run_with_configured_services_that_are_down(nobody, tmp_path):
    url = f"postgresql://postgres:{SECRET}@{nobody}/envwatch"
    done = envwatch(
        "run",
        ENVWATCH_KAFKA_BOOTSTRAP=nobody,
        ENVWATCH_DATABASE_URL=url,
        ENVWATCH_STATE_DIR=str(tmp_path / "state"),
    )
    one_line(done, "run", "cannot connect to the database")


def test_notify_whose_port_is_taken(held_port, nobody):
    done = envwatch(
        "notify",
        ENVWATCH_NOTIFY_HOST="127.0.0.1",
        ENVWATCH_NOTIFY_PORT=str(held_port),
        ENVWATCH_NOTIFY_TOKEN="a-token-for-the-test",
        ENVWATCH_NOTIFY_FALLBACK_URL=f"http://{nobody}/archive",
        timeout=30,
    )
    one_line(done, "notify", "cannot listen")


@pytest.mark.parametrize(
    ("command", "given"),
    [("aqi", "{not json"), ("water-class", '{"do": -1}')],
)
def test_checks_with_bad_input(command, given):
    done = envwatch(command, "--json", given)
    one_line(done, command)
    assert done.returncode == 2


def test_migrate_waits_for_a_database_that_comes_up_late():
    """As in the compose stack, where the database may still be starting when migrate runs."""
    with own_postgres() as server:
        url = server.url()
        server.stop()
        late = subprocess.Popen(
            [sys.executable, "-m", "envwatch.cli", "migrate", "--wait", "60"],
            env={k: v for k, v in os.environ.items() if not k.startswith("ENVWATCH_")}
            | {"ENVWATCH_DATABASE_ADMIN_URL": url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(4)
        assert late.poll() is None, "migrate gave up instead of waiting"
        server.start()
        out, err = late.communicate(timeout=90)
    assert late.returncode == 0, err
    assert "database not up yet" in err and "applied: 001_readings.sql" in out


def test_gateway_without_a_broker_address():
    one_line(envwatch("gateway"), "gateway", "ENVWATCH_KAFKA_BOOTSTRAP")


def test_gateway_with_a_broker_that_is_down(nobody):
    done = envwatch(
        "gateway", "--port", str(free_port()), ENVWATCH_KAFKA_BOOTSTRAP=nobody, timeout=60
    )
    one_line(done, "gateway", "cannot reach the Kafka broker", nobody)


def test_gateway_whose_port_is_taken(broker, held_port):
    done = envwatch(
        "gateway",
        "--host",
        "127.0.0.1",
        "--port",
        str(held_port),
        ENVWATCH_KAFKA_BOOTSTRAP=broker.bootstrap,
        ENVWATCH_GATEWAY_METRICS_PORT=str(free_port()),
        timeout=60,
    )
    one_line(done, "gateway", "cannot listen", "ENVWATCH_GATEWAY_PORT")


def test_ack_with_a_relay_that_is_down(nobody):
    done = envwatch("ack", f"http://{nobody}/ack/a-code", "--by", "张三", timeout=60)
    one_line(done, "ack", "cannot reach the relay", nobody)
