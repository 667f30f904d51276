"""The relay (`envwatch notify`) as a real process, and stand-ins for the robots it posts to."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from envwatch.embedded import free_port, stop_process
from tests.support.monitoring import CRITICAL_REMINDERS, Alertmanager, Webhook
from tests.support.services import wait_until

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "relay-test-token-0123456789"  # the bearer token the tests' relays and Alertmanagers share
PUBLIC = {
    "ENVWATCH_PUBLIC_GRAFANA_URL": "https://grafana.example.gov.cn",
    "ENVWATCH_RUNBOOK_URL": "https://wiki.example.gov.cn/oncall",
}


class Robot:
    """A stand-in for the WeCom / DingTalk robot endpoints and the fallback collector: it
    records every post (path, query, body) and answers as the robots do."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.received: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.arrived: list[float] = []  # time.monotonic() of each, beside received
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        threading.Thread(target=self._serve, args=(started,), daemon=True).start()
        started.wait(10)

    def _serve(self, started: threading.Event) -> None:
        async def record(request: web.Request) -> web.Response:
            self.received.append((request.path, dict(request.query), await request.json()))
            self.arrived.append(time.monotonic())
            if request.path == "/broken":
                return web.Response(status=500, text="robot unavailable")
            return web.json_response({"errcode": 0, "errmsg": "ok"})

        async def start() -> None:
            app = web.Application()
            app.router.add_post("/{name}", record)
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            started.set()

        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def on(self, path: str) -> list[dict[str, Any]]:
        return [body for p, _, body in self.received if p == path]

    def log(self) -> list[tuple[float, str, str]]:
        """(arrival time, channel, markdown text) of every message, in the order they came."""
        return [
            (at, path.lstrip("/"), _text(body))
            for at, (path, _, body) in zip(self.arrived, self.received, strict=True)
        ]

    def texts(self, path: str) -> list[str]:
        """The markdown text of every message posted to ``path``, in arrival order."""
        return [_text(body) for body in self.on(path)]


def _text(body: dict[str, Any]) -> str:
    markdown = body.get("markdown", {})
    return markdown.get("content") or markdown.get("text", "") or body.get("text", "")


class Relays:
    """Starts `envwatch notify` processes with the test token and public link bases, unless a
    test gives its own ENVWATCH_* settings; each is stopped by ``stop``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.started = 0

    def start(self, **env: str | None) -> str:
        """The new relay's URL, once its /healthz answers; a setting given as None is unset."""
        port = int(env.get("ENVWATCH_NOTIFY_PORT") or free_port())
        self.started += 1
        log = (self.workdir / f"relay-{port}-{self.started}.log").open("wb")
        settings = {"ENVWATCH_NOTIFY_PORT": str(port), "ENVWATCH_NOTIFY_TOKEN": TOKEN} | PUBLIC
        merged = os.environ | settings | env
        process = subprocess.Popen(
            [sys.executable, "-m", "envwatch.cli", "notify"],
            env={k: v for k, v in merged.items() if v is not None},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"relay exited: {(self.workdir / log.name).read_text()}")
            try:
                return request(f"{url}/healthz")[0] in (200, 401)
            except OSError:
                return False

        wait_until(up, 20, "the relay's /healthz")
        return url

    def stop(self) -> None:
        for process in self.processes:
            stop_process(process)

    def stop_last(self) -> None:
        """Stop the relay started last (to start another in its place)."""
        stop_process(self.processes.pop())


@dataclass
class AckStack:
    """Alertmanager (the shipped routing, critical reminders every 4 s) posting to relays with
    acknowledgement on, at one fixed address, so that a relay started in another's place has
    the same links. ``start()`` starts a relay; ``env`` is its settings."""

    am: Alertmanager
    relays: Relays
    url: str
    env: dict[str, str]

    @classmethod
    def make(cls, workdir: Path, robot: Robot, database_url: str, **env: str) -> AckStack:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        am = Alertmanager(workdir, Webhook(), relay_url=url, token=TOKEN, text=[CRITICAL_REMINDERS])
        am.start()
        settings = {
            "ENVWATCH_NOTIFY_PORT": str(port),
            "ENVWATCH_NOTIFY_PUBLIC_URL": url,
            "ENVWATCH_NOTIFY_WECOM_URL": f"{robot.url}/wecom",
            "ENVWATCH_NOTIFY_DINGTALK_URL": f"{robot.url}/dingtalk",
            "ENVWATCH_NOTIFY_ACK_POLL_S": "0.5",
            "ENVWATCH_DATABASE_URL": database_url,
            "ENVWATCH_ALERTMANAGER_URL": f"http://127.0.0.1:{am.port}",
        }
        return cls(am, Relays(workdir), url, settings | env)

    def start(self) -> str:
        return self.relays.start(**self.env)

    def stop(self) -> None:
        self.relays.stop()
        self.am.stop()


def request(
    url: str,
    body: object = None,
    authorization: str | None = f"Bearer {TOKEN}",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """A real HTTP request (POST with a JSON body, else GET): the status and the decoded body
    (JSON, or ``{"text": ...}``)."""
    data = None if body is None else json.dumps(body).encode()
    sent_headers = {"Content-Type": "application/json", **(headers or {})}
    if authorization is not None:
        sent_headers["Authorization"] = authorization
    sent = urllib.request.Request(url, data, sent_headers)
    try:
        with urllib.request.urlopen(sent, timeout=30) as response:
            return response.status, _decoded(response.read())
    except urllib.error.HTTPError as e:
        return e.code, _decoded(e.read())


def _decoded(raw: bytes) -> Any:
    text = raw.decode()
    return json.loads(text) if text.startswith(("{", "[")) else {"text": text}
