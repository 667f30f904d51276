"""Alerting as code, checked with the real tools: promtool on every rule file and its unit
tests, amtool on the Alertmanager config, and the relay (`envwatch notify`, a real process)
delivering to a stand-in robot endpoint, through a real Alertmanager with its inhibition."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from alerts.notify.format import dingtalk_sign
from envwatch.embedded import free_port
from tests.support.monitoring import alertmanager_config
from tests.support.relay import Relay
from tests.support.services import wait_until

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "alerts"
RULE_FILES = sorted((ALERTS / "rules").glob("*.yml"))
RULE_TESTS = sorted((ALERTS / "rules" / "tests").glob("*.yml"))
needs = pytest.mark.skipif(
    not all(shutil.which(b) for b in ("promtool", "amtool", "prometheus-alertmanager")),
    reason="needs Debian's prometheus and prometheus-alertmanager packages (.ci/run installs them)",
)


def run(*cmd: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(map(str, cmd)), capture_output=True, text=True, timeout=60)


@needs
@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_checks_rule_file(path: Path) -> None:
    done = run("promtool", "check", "rules", path)
    assert done.returncode == 0, done.stdout + done.stderr


@needs
@pytest.mark.parametrize("path", RULE_TESTS, ids=lambda p: p.name)
def test_promtool_unit_tests_pass(path: Path) -> None:
    done = run("promtool", "test", "rules", path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_rule_file_has_its_unit_tests() -> None:
    tested = {f.stem.removesuffix("_test") for f in RULE_TESTS}
    assert {f.stem for f in RULE_FILES} == tested
    assert {f.stem for f in RULE_FILES} >= {"air", "water", "energy", "targets", "data_quality"}


def rules() -> Iterator[dict[str, Any]]:
    """The alerting rules (recording rules have no labels or annotations to check)."""
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            yield from (rule for rule in group["rules"] if "alert" in rule)


def test_every_rule_has_severity_county_and_a_runbook_anchor_that_exists() -> None:
    headings = (ROOT / "docs" / "oncall.md").read_text().splitlines()
    anchors = {re.sub(r"[^a-z0-9_-]", "", h.lstrip("#").strip().lower().replace(" ", "-"))
               for h in headings if h.startswith("#")}  # fmt: skip
    for rule in rules():
        name, labels, notes = rule["alert"], rule.get("labels", {}), rule["annotations"]
        assert labels.get("severity") in ("critical", "warning", "info", "none"), name
        # county comes from the worker's series, or is "all" for pipeline and city-wide rules
        assert labels.get("county") == "all" or "envwatch_" in rule["expr"], name
        assert notes["runbook_url"].split("#")[1] in anchors, name
        if name != "Watchdog":
            assert {"summary_zh", "summary", "description", "dashboard_path"} <= notes.keys(), name


@needs
def test_amtool_checks_the_alertmanager_config() -> None:
    done = run("amtool", "check-config", ALERTS / "alertmanager.yml")
    assert done.returncode == 0, done.stdout + done.stderr


@needs
@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ("alertname=Watchdog severity=none county=all component=pipeline", "heartbeat"),
        ("alertname=WorkerDown severity=critical county=all component=pipeline", "platform"),
        ("alertname=TargetMissed severity=warning county=all", "city-targets"),
        ("alertname=AirAqiHeavy severity=critical county=yiwu site=air-yiwu-01", "oncall-critical"),
        ("alertname=AirAqiLight severity=warning county=yiwu site=air-yiwu-01", "oncall-warning"),
        ("alertname=DataOutOfRange severity=info county=yiwu site=air-yiwu-01", "archive"),
    ],
)
def test_routes_by_severity_and_county(labels: str, receiver: str) -> None:
    done = run("amtool", "config", "routes", "test", f"--config.file={ALERTS / 'alertmanager.yml'}",
               *labels.split())  # fmt: skip
    assert done.stdout.strip() == receiver, done.stdout + done.stderr


class Robot:
    """A stand-in for the WeCom / DingTalk robot endpoints and the fallback collector."""

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


@pytest.fixture
def robot() -> Robot:
    return Robot()


@pytest.fixture
def start_relay(tmp_path: Path) -> Iterator[Any]:
    relays: list[Relay] = []

    def start(**env: str) -> str:
        relay = Relay(tmp_path / f"relay-{len(relays)}.log",
                      {"ENVWATCH_GRAFANA_URL": "http://grafana.example:3000"} | env)  # fmt: skip
        relays.append(relay)
        return relay.start().url

    yield start
    for relay in relays:
        relay.stop()


def get_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.load(response)
    except OSError:
        return None


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return e.code, json.loads(text) if text.startswith("{") else {"text": text}


def webhook(status: str = "firing") -> dict[str, Any]:
    """An Alertmanager 0.25 webhook payload (version 4) as AirAqiHeavy produces it."""
    labels = {"alertname": "AirAqiHeavy", "severity": "critical", "county": "yiwu",
              "site": "air-yiwu-03", "parameter": "aqi", "condition": "air_aqi_heavy",
              "feed": "air"}  # fmt: skip
    annotations = {
        "title_zh": "空气重度污染", "value": "236", "limit": "200", "unit": "",
        "since_timestamp": "1.795824e+09",
        "summary_zh": "air-yiwu-03（yiwu）小时 AQI 236，超过 200，已达重度污染",
        "summary": "Hourly AQI 236 at air-yiwu-03 (yiwu), above 200 (heavy pollution)",
        "dashboard_path": "/d/envwatch-air-station/air-station?var-station=air-yiwu-03",
        "runbook_url": "docs/oncall.md#airaqiheavy",
    }  # fmt: skip
    return {
        "version": "4", "groupKey": '{}/{severity="critical"}:{alertname="AirAqiHeavy"}',
        "truncatedAlerts": 0, "status": status, "receiver": "oncall-critical",
        "groupLabels": {k: labels[k] for k in ("alertname", "county", "site")},
        "commonLabels": labels, "commonAnnotations": annotations,
        "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": status, "labels": labels, "annotations": annotations,
            "startsAt": "2026-11-28T00:00:00Z",
            "endsAt": "2026-11-28T03:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": "5f1c0a9e3b2d4c6a",
        }],
    }  # fmt: skip


def test_relay_delivers_a_chinese_wecom_message_and_the_resolved_one(robot: Robot, start_relay):
    relay = start_relay(ENVWATCH_NOTIFY_WECOM_URL=f"{robot.url}/wecom?key=K")
    assert get_json(f"{relay}/healthz")["configured"] == {
        "wecom": True, "dingtalk": False, "fallback": False}  # fmt: skip
    assert post(f"{relay}/alertmanager?channel=wecom", webhook()) == (200, {"delivered": "wecom"})
    assert post(f"{relay}/alertmanager?channel=wecom", webhook("resolved"))[0] == 200
    firing, resolved = robot.on("/wecom")
    assert robot.received[0][1] == {"key": "K"}
    assert firing["msgtype"] == "markdown"
    text = firing["markdown"]["content"]
    assert text.startswith("### 【严重】金华 义乌市 空气重度污染\n")
    for line in ("站点：义乌江东（air-yiwu-03）", "区县：义乌市", "参数：AQI",
                 "当前值：236，限值：200", "开始：2026-11-28 08:00（已持续",
                 "[查看看板](http://grafana.example:3000/d/envwatch-air-station/air-station"
                 "?var-station=air-yiwu-03)"):  # fmt: skip
        assert f"> {line}" in text
    assert resolved["markdown"]["content"].startswith("### 【已恢复】金华 义乌市 空气重度污染\n")
    assert "> 恢复：2026-11-28 11:00" in resolved["markdown"]["content"]


def test_relay_signs_dingtalk_requests(robot: Robot, start_relay) -> None:
    relay = start_relay(ENVWATCH_NOTIFY_DINGTALK_URL=f"{robot.url}/dingtalk?access_token=T",
                        ENVWATCH_NOTIFY_DINGTALK_SECRET="SECabc")  # fmt: skip
    assert post(f"{relay}/alertmanager?channel=dingtalk", webhook())[0] == 200
    path, query, body = robot.received[0]
    assert path == "/dingtalk" and query["access_token"] == "T"
    assert abs(int(query["timestamp"]) / 1000 - time.time()) < 60
    assert query["sign"] == dingtalk_sign("SECabc", int(query["timestamp"]))
    assert body["markdown"]["title"] == "【严重】金华 义乌市 空气重度污染"


def test_relay_falls_back_to_json_when_the_robot_fails_and_502s_when_nothing_works(
    robot: Robot, start_relay
) -> None:
    relay = start_relay(ENVWATCH_NOTIFY_WECOM_URL=f"{robot.url}/broken",
                        ENVWATCH_NOTIFY_FALLBACK_URL=f"{robot.url}/fallback")  # fmt: skip
    assert post(f"{relay}/alertmanager?channel=wecom", webhook()) == (
        200,
        {"delivered": "fallback"},
    )
    assert len(robot.on("/broken")) == 3  # retried, then gave up
    (fallback,) = robot.on("/fallback")
    assert fallback["title"] == "【严重】金华 义乌市 空气重度污染"
    assert fallback["alertmanager"]["alerts"][0]["labels"]["site"] == "air-yiwu-03"
    # DingTalk not configured at all: straight to the fallback, no robot call.
    assert post(f"{relay}/alertmanager?channel=dingtalk", webhook())[0] == 200
    assert len(robot.on("/fallback")) == 2

    bare = start_relay()
    status, body = post(f"{bare}/alertmanager?channel=wecom", webhook())
    assert status == 502 and body["delivered"] is None
    assert post(f"{bare}/alertmanager?channel=sms", webhook())[0] == 400


@needs
def test_alertmanager_inhibits_the_warning_and_delivers_one_critical_message(
    robot: Robot, start_relay, tmp_path: Path
) -> None:
    """The shipped routing and inhibition, with the relay's address and short waits."""
    relay = start_relay(ENVWATCH_NOTIFY_WECOM_URL=f"{robot.url}/wecom",
                        ENVWATCH_NOTIFY_DINGTALK_URL=f"{robot.url}/dingtalk")  # fmt: skip
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_config(f"{relay}/alertmanager", f"{robot.url}/deadman"))
    port = free_port()
    am = subprocess.Popen(
        ["prometheus-alertmanager", f"--config.file={config}", f"--storage.path={tmp_path}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=(tmp_path / "am.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        api = f"http://127.0.0.1:{port}/api/v2"
        wait_until(lambda: get_json(f"{api}/status"), 20, "Alertmanager's API")
        site = {"county": "yiwu", "site": "air-yiwu-03", "feed": "air", "parameter": "aqi"}
        heavy = webhook()["alerts"][0]
        light = {"labels": site | {"alertname": "AirAqiLight", "severity": "warning"},
                 "annotations": {"title_zh": "空气轻度污染"}}  # fmt: skip
        alerts = [{"labels": heavy["labels"], "annotations": heavy["annotations"]}, light]
        request = urllib.request.Request(f"{api}/alerts", json.dumps(alerts).encode(),
                                         {"Content-Type": "application/json"})  # fmt: skip
        urllib.request.urlopen(request, timeout=5).close()
        wait_until(lambda: len(robot.on("/wecom")) >= 1, 30, "the critical notification")
        time.sleep(3)  # room for a wrong second (warning) message to arrive
        titles = [b["markdown"]["content"].splitlines()[0] for b in robot.on("/wecom")]
        assert titles == ["### 【严重】金华 义乌市 空气重度污染"]
        (dingtalk,) = robot.on("/dingtalk")  # critical goes to both robots
        assert dingtalk["markdown"]["title"] == "【严重】金华 义乌市 空气重度污染"
    finally:
        am.terminate()
        am.wait(10)
