"""`envwatch run` from an empty folder: embedded services, worker and simulator, live summary."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from envwatch.embedded import free_port

SUMMARY = re.compile(r"readings/s \| (\d+) readings \| (\d+) rows stored")


@pytest.fixture
def empty_folder() -> Iterator[Path]:
    """An empty folder of its own, outside pytest's: the embedded PostgreSQL runs as a service
    user and must keep reaching its data while other pytest sessions start."""
    folder = Path(tempfile.mkdtemp(prefix="envwatch-run-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_run_starts_everything_and_readings_reach_the_database(empty_folder):
    tmp_path = empty_folder
    env = os.environ | {
        "ENVWATCH_METRICS_PORT": str(free_port()),
        "ENVWATCH_WORKER_WEB_PORT": str(free_port()),
    }
    for name in ("ENVWATCH_KAFKA_BOOTSTRAP", "ENVWATCH_DATABASE_URL"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "envwatch.cli", "run", "--duration", "40", "--speed", "36000"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    counts = [(int(a), int(b)) for a, b in SUMMARY.findall(done.stdout)]
    assert counts, done.stdout[-2000:]
    readings, rows = counts[-1]
    # Two simulated days of 24 stations, 23 sections and 18 units: well over a thousand readings,
    # a row each (a summary may fall between a batch's count and its write).
    assert readings > 1000 and 0.9 * readings < rows <= readings
    assert (tmp_path / ".envwatch" / "worker.log").exists()
    assert "dead-lettered: none" in done.stdout.splitlines()[-1]
