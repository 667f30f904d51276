"""The README's commands for agencies testing against `make run`, run as written against a
broker of the same kind, with the topics `make run` creates."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from envwatch.embedded import EmbeddedBroker
from streams.settings import Settings, load_settings
from streams.topics import ensure_topics
from tests.support.services import read_topic

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("### Testing against `make run`", 1)[1]
    (block,) = re.findall(r"```sh\n(.*?)```", re.split(r"\n##+ ", section, maxsplit=1)[0], re.S)
    return [line for line in block.splitlines() if line.strip()]


@pytest.fixture
def run_like(tmp_path: Path) -> Iterator[Settings]:
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start()
    try:
        settings = load_settings(kafka_bootstrap=broker.bootstrap)
        ensure_topics(settings)
        yield settings
    finally:
        broker.stop()


def test_the_readme_clients_reach_the_embedded_broker(run_like, tmp_path):
    port = run_like.kafka_bootstrap.rsplit(":", 1)[1]
    (tmp_path / "samples.csv").write_text(
        "station_id,ts,pm25\nair-wuyi-02,2026-11-28T09:00:00+08:00,41\n"
    )
    commands = readme_commands()
    assert len(commands) == 2
    for command in commands:
        line = command.replace("PORT", port).replace(
            ".venv/bin/", f"{Path(sys.executable).parent}/"
        )
        done = subprocess.run(
            ["bash", "-c", line], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    records = read_topic(run_like, run_like.topic("air"), 2)
    values = sorted(orjson.loads(r.value)["pm25"] for r in records)
    assert values == [35, 41.0]
