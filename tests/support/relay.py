"""The relay (`envwatch notify`) as a real process, and stand-ins for the robots it posts to."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from aiohttp import web

from envwatch.embedded import free_port, stop_process
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
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        threading.Thread(target=self._serve, args=(started,), daemon=True).start()
        started.wait(10)

    def _serve(self, started: threading.Event) -> None:
        async def record(request: web.Request) -> web.Response:
            self.received.append((request.path, dict(request.query), await request.json()))
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

    def texts(self, path: str) -> list[str]:
        """The markdown text of every message posted to ``path``, in arrival order."""
        return [
            body["markdown"].get("content") or body["markdown"].get("text", "")
            for body in self.on(path)
        ]


class Relays:
    """Starts `envwatch notify` processes with the test token and public link bases, unless a
    test gives its own ENVWATCH_* settings; each is stopped by ``stop``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, **env: str) -> str:
        """The new relay's URL, once its /healthz answers."""
        port = free_port()
        log = (self.workdir / f"relay-{port}.log").open("wb")
        settings = {"ENVWATCH_NOTIFY_PORT": str(port), "ENVWATCH_NOTIFY_TOKEN": TOKEN} | PUBLIC
        process = subprocess.Popen(
            [sys.executable, "-m", "envwatch.cli", "notify"],
            env=os.environ | settings | env,
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


def request(
    url: str,
    body: dict[str, Any] | None = None,
    authorization: str | None = f"Bearer {TOKEN}",
    method: str | None = None,
) -> tuple[int, Any]:
    """A real HTTP request (POST with a JSON body, else GET): the status and the decoded body."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    sent = urllib.request.Request(url, data, headers, method=method)
    try:
        with urllib.request.urlopen(sent, timeout=30) as response:
            return response.status, _decoded(response.read())
    except urllib.error.HTTPError as e:
        return e.code, _decoded(e.read())


def _decoded(raw: bytes) -> Any:
    text = raw.decode()
    return json.loads(text) if text.startswith(("{", "[")) else {"text": text}
