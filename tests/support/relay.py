"""The notification relay (`envwatch notify`) as a child process, on a loopback port of its own.

It keeps its port across :meth:`Relay.stop` and :meth:`Relay.start`, so an Alertmanager
pointed at it finds it again when it comes back. ``env`` holds the relay's own settings (robot
URLs, and whatever else a test gives it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envwatch.embedded import free_port, stop_process, wait_until

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Relay:
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Relay:
        listen = {"ENVWATCH_NOTIFY_HOST": "127.0.0.1", "ENVWATCH_NOTIFY_PORT": str(self.port)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "envwatch.cli", "notify"],
            env=dict(os.environ) | listen | self.env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        wait_until(self.health, 20, "the relay's /healthz")
        return self

    def health(self) -> Any:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return json.load(response)
        except OSError:
            return None

    def stop(self) -> None:
        stop_process(self.process)
