"""The compose stack's Kafka scripts, run for real with stand-ins for the Kafka tools.

No Docker engine or Kafka runs here, so each tool the scripts call (``kafka-storage.sh``,
``kafka-configs.sh``, ...) is replaced by a stand-in that records its arguments and a copy of
every file it is handed (``--config``, ``--add-config-file``, ``--command-config``), so that
a test can read what Kafka would read, and check that no secret was ever an argument.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from schemas.feeds import FEEDS

ROOT = Path(__file__).resolve().parents[2]
KAFKA = ROOT / "deploy" / "kafka"
TOOLS = (
    "kafka-storage.sh",
    "kafka-server-start.sh",
    "kafka-configs.sh",
    "kafka-acls.sh",
    "kafka-topics.sh",
)
FILE_OPTIONS = ("--config", "--add-config-file", "--command-config")
# Every character a password may hold that means something to a URL, a JAAS string or a
# .properties file.
SECRETS = {
    "kafka_admin_password": 'adm/in+=@:%"\\ ;#!',
    "kafka_pipeline_password": "pipe/line+=@:%\\\\x",
    # One agency per feed of the registry, each with a leading blank and the hardest characters.
    **{f"agency_{feed}_password": f" {feed}/+=@:%'\"\\ ;#,]" for feed in FEEDS},
}

_STAND_IN = r"""#!/bin/bash
n=$(ls "$CALLS" | wc -l)
mkdir "$CALLS/$n"
printf '%s\n' "$(basename "$0")" "$@" > "$CALLS/$n/args"
prev=
for arg in "$@"; do
  case "$prev" in {options}) cp "$arg" "$CALLS/$n/$(basename "$arg")" ;; esac
  prev=$arg
done
"""


@dataclass
class Call:
    tool: str
    args: list[str]
    files: dict[str, str]  # name -> content of each file handed to the tool


def run_script(name: str, tmp_path: Path, **env: str) -> tuple[list[Call], Path]:
    """Run deploy/kafka/NAME with the stand-ins and the test secrets; the calls in order."""
    bindir, calls, secrets, run = (tmp_path / d for d in ("bin", "calls", "secrets", "run"))
    for folder in (bindir, calls, secrets, run):
        folder.mkdir(parents=True, exist_ok=True)
    for tool in TOOLS:
        stand_in = bindir / tool
        stand_in.write_text(_STAND_IN.replace("{options}", "|".join(FILE_OPTIONS)))
        stand_in.chmod(0o755)
    for secret, value in SECRETS.items():
        (secrets / secret).write_text(value + "\n")
    done = subprocess.run(
        ["bash", str(KAFKA / name)],
        env={
            "PATH": "/usr/bin:/bin",
            "CALLS": str(calls),
            "KAFKA_BIN": str(bindir),
            "KAFKA_SECRETS_DIR": str(secrets),
            "KAFKA_RUN_DIR": str(run),
            "KAFKA_DATA_DIR": str(tmp_path / "data"),
            "KAFKA_FEEDS_DIR": str(ROOT / "schemas" / "feeds"),
        }
        | env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    recorded = []
    for folder in sorted(calls.iterdir(), key=lambda p: int(p.name)):
        tool, *args = (folder / "args").read_text().splitlines()
        files = {p.name: p.read_text() for p in folder.iterdir() if p.name != "args"}
        recorded.append(Call(tool, args, files))
    return recorded, run
