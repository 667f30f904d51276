"""Real Prometheus and Alertmanager for tests, on the project's own rules and routing.

The shipped files are used as they are, with only what a test must change: the addresses
(webhooks go to a receiver the test runs), the relay's token file and the waits (seconds
instead of minutes).
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import threading
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from envwatch.embedded import free_port, stop_process
from tests.support.services import wait_until

ALERTS = Path(__file__).resolve().parents[2] / "alerts"
TOKEN_FILE = "/run/secrets/notify_token"  # where alertmanager.yml reads the relay's token
# The critical route's reminders every 4 s instead of every 2 h (Alertmanager(text=...)).
CRITICAL_REMINDERS = ("repeat_interval: 2h", "repeat_interval: 4s")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


class Webhook:
    """Records every notification Alertmanager posts, with the query of its URL and the
    Authorization header it came with."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, list[str]], dict[str, Any]]] = []
        self.authorizations: list[str] = []
        received, authorizations = self.received, self.authorizations

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                authorizations.append(self.headers.get("Authorization", ""))
                received.append((parse_qs(urlparse(self.path).query), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def notifications(self, alertname: str, channel: str = "wecom") -> list[dict[str, Any]]:
        """Notifications of one rule on one channel, in arrival order."""
        return [
            body
            for query, body in self.received
            if query.get("channel") == [channel]
            and body["groupLabels"].get("alertname") == alertname
        ]

    def close(self) -> None:
        self.server.shutdown()


def alertmanager_config(
    relay_url: str, deadman_url: str, token_file: Path, text: Sequence[tuple[str, str]] = ()
) -> str:
    """The shipped routing with a test's addresses, token file and waits: the one place where
    a test's Alertmanager configuration is made. ``relay_url`` takes the place of the relay's
    ``/alertmanager`` endpoint (``http://notify:9095/alertmanager``), ``deadman_url`` that of
    the dead-man's switch; ``text`` holds further replacements, in order."""
    config = (ALERTS / "alertmanager.yml").read_text(encoding="utf-8")
    config = config.replace("http://notify:9095/alertmanager", relay_url)
    config = config.replace(TOKEN_FILE, str(token_file))
    config = re.sub(r"url: http://deadman\S+", f"url: {deadman_url}", config)
    config = re.sub(r"group_wait: \S+", "group_wait: 1s", config)
    config = re.sub(r"group_interval: \S+", "group_interval: 2s", config)
    # The scheduled mutes (station maintenance, analyser calibration) follow the wall clock:
    # moved to a year long past, so that no test depends on the hour it runs at.
    config, moved = re.subn(r"(?m)^(\s+)- weekdays:", r"\1- years: ['2000']\n\1  weekdays:", config)
    assert moved == config.count("location: Asia/Shanghai"), "a scheduled mute left in force"
    for old, new in text:
        config = config.replace(old, new)
    return config


@dataclass
class Alertmanager:
    """The shipped routing, its relay webhooks sent to ``relay_url`` (the base URL of a real
    relay) or to the ``webhook`` stand-in, with the relay's bearer token ``token`` in a file
    of the test's own; ``text`` changes more where a test needs it (``CRITICAL_REMINDERS``).

    With ``cluster_port`` it gossips with the Alertmanagers listening on the ``peers``
    cluster ports, as an HA pair does; otherwise it runs alone.
    """

    workdir: Path
    webhook: Webhook
    relay_url: str = ""
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    text: list[tuple[str, str]] = field(default_factory=list)  # other replacements, in order
    port: int = field(default_factory=free_port)
    cluster_port: int | None = None
    peers: list[int] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Alertmanager:
        token_file = self.workdir / "notify_token"
        token_file.write_text(self.token + "\n", encoding="utf-8")
        relay = f"{self.relay_url}/alertmanager" if self.relay_url else f"{self.webhook.url}/am"
        config = self.workdir / "alertmanager.yml"
        config.write_text(
            alertmanager_config(relay, f"{self.webhook.url}/deadman", token_file, self.text),
            encoding="utf-8",
        )
        if self.cluster_port is None:
            cluster = ["--cluster.listen-address="]
        else:
            cluster = [
                f"--cluster.listen-address=127.0.0.1:{self.cluster_port}",
                *(f"--cluster.peer=127.0.0.1:{port}" for port in self.peers),
                # A second member waits this long per place in the cluster before it sends
                # what the first has not (default 15 s; gossip takes well under a second here).
                "--cluster.peer-timeout=3s",
            ]
        self.process = subprocess.Popen(
            [
                "prometheus-alertmanager",
                f"--config.file={config}",
                f"--storage.path={self.workdir / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                # Each notification names the Alertmanager that sent it.
                f"--web.external-url=http://127.0.0.1:{self.port}",
                *cluster,
            ],
            stdout=(self.workdir / "alertmanager.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_until(self._up, 20, "Alertmanager's API")
        return self

    def status(self) -> dict[str, Any]:
        return get_json(f"http://127.0.0.1:{self.port}/api/v2/status")

    def _up(self) -> bool:
        try:
            return bool(self.status())
        except OSError:
            return False

    def stop(self) -> None:
        stop_process(self.process)


@dataclass
class Prometheus:
    """Scrapes the workers every second and evaluates the shipped rules every second.

    ``keep_firing_for`` is how long a rule holds an alert whose series went (the rules'
    ``keep_firing_for:`` and ``last_over_time(...[3m])`` tails). ``targets`` (worker metrics
    ports; default the one ``worker_port``), ``rule_for`` (shorter ``for:`` of named rules),
    ``rule_text`` (other replacements in the rule copies) and ``flags`` (extra command-line
    flags) are for tests that need them; the shipped files stay as they are.
    """

    workdir: Path
    worker_port: int
    alertmanagers: list[int]  # ports; Prometheus sends every alert to each of them
    keep_firing_for: str = "30s"
    targets: list[int] = field(default_factory=list)
    rule_for: dict[str, str] = field(default_factory=dict)
    rule_text: list[tuple[str, str]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    relay: str = ""  # host:port of a relay to scrape (job envwatch-notify), with its token file
    relay_token_file: str = ""
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Prometheus:
        rules = self.workdir / "rules"
        rules.mkdir(exist_ok=True)
        for path in (ALERTS / "rules").glob("*.yml"):
            (rules / path.name).write_text(
                self._rules(path.read_text(encoding="utf-8")), encoding="utf-8"
            )
        targets = [f"127.0.0.1:{p}" for p in (self.targets or [self.worker_port])]
        jobs: list[dict[str, Any]] = [
            {"job_name": "envwatch-worker", "static_configs": [{"targets": targets}]}
        ]
        if self.relay:
            relay = {"targets": [self.relay]}
            jobs.append({"job_name": "envwatch-notify", "static_configs": [relay],
                         "authorization": {"credentials_file": self.relay_token_file}})  # fmt: skip
        config = self.workdir / "prometheus.yml"
        config.write_text(
            json.dumps(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(rules / "*.yml")],
                    "alerting": {
                        "alertmanagers": [
                            {
                                "static_configs": [
                                    {"targets": [f"127.0.0.1:{p}" for p in self.alertmanagers]}
                                ]
                            }
                        ]
                    },
                    "scrape_configs": jobs,
                }
            ),
            encoding="utf-8",
        )
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                *self.flags,
            ],
            stdout=(self.workdir / "prometheus.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_until(self._ready, 30, "Prometheus to be ready")
        return self

    def _rules(self, text: str) -> str:
        text = re.sub(r"keep_firing_for: \S+", f"keep_firing_for: {self.keep_firing_for}", text)
        text = text.replace("[3m]", f"[{self.keep_firing_for}]")  # only the tails hold 3m
        for alert, duration in self.rule_for.items():
            text = re.sub(
                rf"(- alert: {alert}\n(?:(?!\s+- alert:).*\n)*?\s+for: )\S+",
                rf"\g<1>{duration}",
                text,
            )
        for old, new in self.rule_text:
            text = text.replace(old, new)
        return text

    def alerts(self) -> list[dict[str, Any]]:
        return get_json(f"http://127.0.0.1:{self.port}/api/v1/alerts")["data"]["alerts"]

    def _ready(self) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2).close()
        except OSError:
            return False
        return True

    def query(self, expr: str) -> list[dict[str, Any]]:
        from urllib.parse import quote

        answer = get_json(f"http://127.0.0.1:{self.port}/api/v1/query?query={quote(expr)}")
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def firing(self, alertname: str) -> list[dict[str, str]]:
        return [
            r["metric"]
            for r in self.query(f'ALERTS{{alertname="{alertname}",alertstate="firing"}}')
        ]

    def stop(self) -> None:
        stop_process(self.process)
