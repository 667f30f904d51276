"""`envwatch run` from an empty folder: embedded services, worker and simulator, live summary."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

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


def _embedded_env() -> dict[str, str]:
    """The environment of `make run`: nothing configured, so everything starts embedded."""
    env = os.environ | {
        "ENVWATCH_METRICS_PORT": str(free_port()),
        "ENVWATCH_WORKER_WEB_PORT": str(free_port()),
    }
    for name in ("ENVWATCH_KAFKA_BOOTSTRAP", "ENVWATCH_DATABASE_URL"):
        env.pop(name, None)
    return env


def test_run_starts_everything_and_readings_reach_the_database(empty_folder):
    tmp_path = empty_folder
    env = _embedded_env()
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


def _children_of(pid: int) -> set[int]:
    """Every live descendant of a process, read from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a parent that may never reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _lines(stream: IO[str]) -> queue.Queue[str]:
    """The lines of a child's output as they come, so a test can wait for one."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _drain(lines: queue.Queue[str]) -> str:
    out = []
    while True:
        try:
            out.append(lines.get(timeout=1))
        except queue.Empty:
            return "".join(out)


def test_sigterm_stops_everything_run_started(empty_folder):
    """What `docker stop`, systemd and CI send: nothing that `run` started may outlive it."""
    run = subprocess.Popen(
        [sys.executable, "-m", "envwatch.cli", "run", "--speed", "36000"],
        cwd=empty_folder,
        env=_embedded_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert run.stdout is not None
        lines, out = _lines(run.stdout), ""
        while not SUMMARY.search(out):  # worker and simulator up, readings flowing
            out += lines.get(timeout=120)
        pid_file = empty_folder / ".envwatch/postgres/postmaster.pid"
        postmaster = int(pid_file.read_text().split()[0])
        started = _children_of(run.pid) | {postmaster} | _children_of(postmaster)
        commands = b" | ".join(Path(f"/proc/{p}/cmdline").read_bytes() for p in started)
        for what in (b"envwatch.cli\0worker", b"envwatch.cli\0simulate", b"tansu"):
            assert what in commands, (what, commands)
        began = time.monotonic()
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 0
        took = time.monotonic() - began
    finally:
        run.kill()
    out += _drain(lines)
    left = {p: Path(f"/proc/{p}/cmdline").read_bytes() for p in sorted(started) if _alive(p)}
    for pid in left:  # an orphan must not outlive the failed test either
        os.kill(pid, signal.SIGKILL)
    print(f"started {len(started)} processes, stopped in {took:.1f} s, {len(left)} left")
    assert "SIGTERM: stopping everything this command started" in out, out[-2000:]
    assert out.rstrip().endswith("stopped"), out[-2000:]
    assert not left, left
