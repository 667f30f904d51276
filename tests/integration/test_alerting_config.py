"""Alerting as code, checked with the real tools: promtool on every rule file and its unit
tests, amtool on the Alertmanager config, and the relay (`envwatch notify`, a real process)
delivering to a stand-in robot endpoint, through a real Alertmanager with its inhibition."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.notify.escalation import ESCALATED, LEVELS
from alerts.notify.format import dingtalk_sign
from envwatch.embedded import free_port
from schemas.feeds import FEEDS
from tests.support.monitoring import Alertmanager, Webhook
from tests.support.relay import TOKEN, Robot, request
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
    assert {f.stem for f in RULE_FILES} >= {*FEEDS, "targets", "data_quality"}  # one per feed


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
        # an escalation's severity is that of the alert it escalates (ALERTS_FOR_STATE's)
        severity = labels.get("severity") or (
            "escalated" if "ALERTS_FOR_STATE" in rule["expr"] else ""
        )
        assert severity in ("critical", "warning", "info", "none", "escalated"), name
        # county comes from the worker's series, or is "all" for pipeline and city-wide rules
        assert labels.get("county") == "all" or "envwatch_" in rule["expr"], name
        assert notes["runbook"] in anchors, name  # the relay adds the runbook's address
        if name != "Watchdog":
            assert {"summary_zh", "summary", "description", "dashboard_path"} <= notes.keys(), name


def test_the_escalation_rules_and_routes_cover_every_level_the_relay_allows() -> None:
    """The relay exports waits for levels 1..LEVELS; a rule must read each, a route take it."""
    escalations = [r for r in rules() if r["alert"] == ESCALATED]
    assert sorted(r["labels"]["level"] for r in escalations) == [
        str(n) for n in range(1, LEVELS + 1)
    ]
    for rule in escalations:
        assert (
            f'envwatch_escalation_after_seconds{{level="{rule["labels"]["level"]}"}}'
            in rule["expr"]
        )
    route = yaml.safe_load((ALERTS / "alertmanager.yml").read_text())["route"]["routes"][1]
    assert route["matchers"] == [f'alertname="{ESCALATED}"']
    assert [r["matchers"] for r in route["routes"]] == [
        [f'level="{n}"'] for n in range(2, LEVELS + 1)
    ]


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
        ("alertname=WastewaterOver1B severity=critical county=lanxi site=ww-lanxi-01",
         "oncall-critical"),
        # An escalation keeps the labels of the alert it escalates; it goes by level, first.
        ("alertname=AlertEscalated escalated=AirAqiHeavy level=1 severity=critical county=yiwu "
         "site=air-yiwu-01", "duty-supervisor"),
        ("alertname=AlertEscalated escalated=AirAqiHeavy level=2 severity=critical county=yiwu "
         "site=air-yiwu-01", "duty-director"),
        ("alertname=AlertEscalated escalated=WorkerDown level=1 severity=critical county=all "
         "component=pipeline", "duty-supervisor"),
    ],
)  # fmt: skip
def test_routes_by_severity_and_county(labels: str, receiver: str) -> None:
    done = run("amtool", "config", "routes", "test", f"--config.file={ALERTS / 'alertmanager.yml'}",
               *labels.split())  # fmt: skip
    assert done.stdout.strip() == receiver, done.stdout + done.stderr


def get_json(url: str) -> Any:
    return request(url)[1]


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return request(url, body)


def webhook(status: str = "firing") -> dict[str, Any]:
    """An Alertmanager 0.25 webhook payload (version 4) as AirAqiHeavy produces it."""
    labels = {"alertname": "AirAqiHeavy", "severity": "critical", "county": "yiwu",
              "site": "air-yiwu-03", "parameter": "aqi", "condition": "air_aqi_heavy",
              "feed": "air"}  # fmt: skip
    annotations = {
        "title_zh": "空气重度污染", "value": "236", "limit": "200", "unit": "",
        "since_timestamp": "1.795824e+09",
        "summary_zh": "air-yiwu-03（yiwu）小时 AQI 超过 200（重度污染）时触发的告警",
        "summary": "Heavy pollution alert at air-yiwu-03 (yiwu): raised when the AQI exceeds 200",
        "dashboard_path": "/d/envwatch-air-station/air-station?var-station=air-yiwu-03",
        "runbook": "airaqiheavy",
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
        "wecom": True, "dingtalk": False, "fallback": False, "acknowledgement": False}  # fmt: skip
    assert post(f"{relay}/alertmanager?channel=wecom", webhook()) == (200, {"delivered": "wecom"})
    assert post(f"{relay}/alertmanager?channel=wecom", webhook("resolved"))[0] == 200
    firing, resolved = robot.on("/wecom")
    assert robot.received[0][1] == {"key": "K"}
    assert firing["msgtype"] == "markdown"
    text = firing["markdown"]["content"]
    assert text.startswith("### 【严重】金华 义乌市 空气重度污染\n")
    for line in ("站点：义乌江东（air-yiwu-03）", "区县：义乌市", "参数：AQI",
                 "当前值：236，超过限值 200", "开始：2026-11-28 08:00（已持续",
                 "[查看看板](https://grafana.example.gov.cn/d/envwatch-air-station/air-station"
                 "?var-station=air-yiwu-03)",
                 "[处置手册](https://wiki.example.gov.cn/oncall#airaqiheavy)"):  # fmt: skip
        assert f"> {line}" in text
    assert resolved["markdown"]["content"].startswith("### 【已恢复】金华 义乌市 空气重度污染\n")
    assert "> 恢复：2026-11-28 11:00" in resolved["markdown"]["content"]
    assert "> 恢复前最后数值：236（限值 200）" in resolved["markdown"]["content"]


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
    # A robot the relay does not know goes to the fallback (none here: 502, Alertmanager retries).
    assert post(f"{bare}/alertmanager?channel=supervisor", webhook())[0] == 502
    assert post(f"{bare}/alertmanager?channel=../etc", webhook())[0] == 400


def test_relay_answers_401_without_the_right_bearer_token(robot: Robot, start_relay) -> None:
    relay = start_relay(ENVWATCH_NOTIFY_WECOM_URL=f"{robot.url}/wecom")
    for authorization in (None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer ", TOKEN,
                          f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}"):  # fmt: skip
        for url, body in ((f"{relay}/alertmanager?channel=wecom", webhook()),
                          (f"{relay}/healthz", None)):  # fmt: skip
            status, answer = request(url, body, authorization)
            assert status == 401, (authorization, url, status, answer)
    assert robot.received == [], "a refused request must not page anyone"
    delivered = request(f"{relay}/alertmanager?channel=wecom", webhook())
    assert delivered == (200, {"delivered": "wecom"})
    assert request(f"{relay}/healthz", authorization=f"bearer  {TOKEN}")[0] == 200


def test_relay_reads_its_token_from_a_file_and_listens_on_loopback(
    robot: Robot, start_relay, tmp_path: Path
) -> None:
    secret = tmp_path / "notify_token"
    secret.write_text("token-from-a-file\n")
    relay = start_relay(ENVWATCH_NOTIFY_TOKEN=None, ENVWATCH_NOTIFY_TOKEN_FILE=str(secret),
                        ENVWATCH_NOTIFY_WECOM_URL=f"{robot.url}/wecom")  # fmt: skip
    assert request(f"{relay}/healthz")[0] == 401
    assert request(f"{relay}/healthz", authorization="Bearer token-from-a-file")[0] == 200
    port = int(relay.rsplit(":", 1)[1])
    assert listening_addresses(port) == {"127.0.0.1"}


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port``, from the kernel's own table."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
    return found


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "no bearer token: set ENVWATCH_NOTIFY_TOKEN or ENVWATCH_NOTIFY_TOKEN_FILE"),
        ({"ENVWATCH_NOTIFY_TOKEN_FILE": "/nonexistent/notify_token"},
         "/nonexistent/notify_token: No such file or directory"),
        ({"ENVWATCH_NOTIFY_TOKEN_FILE": "/dev/null"}, "no bearer token"),
    ],
)  # fmt: skip
def test_relay_refuses_to_start_without_a_token(env: dict[str, str], expected: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ENVWATCH_")}
    done = subprocess.run(
        [sys.executable, "-m", "envwatch.cli", "notify"],
        env=clean | {"ENVWATCH_NOTIFY_PORT": str(free_port())} | env,
        capture_output=True, text=True, timeout=30, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()  # one line, no traceback
    assert line.startswith(f"envwatch notify: {expected}"), line


@needs
def test_alertmanager_inhibits_the_warning_and_delivers_one_critical_message(
    robot: Robot, start_relay, tmp_path: Path
) -> None:
    """The shipped routing and inhibition, posting to the real relay with its token (read from
    the credentials file as in production), with the relay's address and short waits."""
    relay = start_relay(ENVWATCH_NOTIFY_WECOM_URL=f"{robot.url}/wecom",
                        ENVWATCH_NOTIFY_DINGTALK_URL=f"{robot.url}/dingtalk")  # fmt: skip
    am = Alertmanager(tmp_path, Webhook(), relay_url=relay, token=TOKEN).start()
    try:
        api = f"http://127.0.0.1:{am.port}/api/v2"
        site = {"county": "yiwu", "site": "air-yiwu-03", "feed": "air", "parameter": "aqi"}
        heavy = webhook()["alerts"][0]
        light = {"labels": site | {"alertname": "AirAqiLight", "severity": "warning"},
                 "annotations": {"title_zh": "空气轻度污染"}}  # fmt: skip
        alerts = [{"labels": heavy["labels"], "annotations": heavy["annotations"]}, light]
        post_alerts(api, alerts)
        wait_until(lambda: len(robot.on("/wecom")) >= 1, 30, "the critical notification")
        time.sleep(3)  # room for a wrong second (warning) message to arrive
        titles = [b["markdown"]["content"].splitlines()[0] for b in robot.on("/wecom")]
        assert titles == ["### 【严重】金华 义乌市 空气重度污染"]
        (dingtalk,) = robot.on("/dingtalk")  # critical goes to both robots
        assert dingtalk["markdown"]["title"] == "【严重】金华 义乌市 空气重度污染"
    finally:
        am.stop()


@needs
def test_alertmanager_with_a_wrong_token_is_refused_and_pages_nobody(
    robot: Robot, start_relay, tmp_path: Path
) -> None:
    relay = start_relay(ENVWATCH_NOTIFY_WECOM_URL=f"{robot.url}/wecom",
                        ENVWATCH_NOTIFY_DINGTALK_URL=f"{robot.url}/dingtalk")  # fmt: skip
    am = Alertmanager(tmp_path, Webhook(), relay_url=relay, token="not-the-token").start()
    try:
        heavy = {"labels": webhook()["alerts"][0]["labels"], "annotations": {"title_zh": "x"}}
        post_alerts(f"http://127.0.0.1:{am.port}/api/v2", [heavy])
        wait_until(lambda: failed_notifications(am.port) >= 2, 30, "Alertmanager's failed posts")
        assert robot.received == []
    finally:
        am.stop()


def post_alerts(api: str, alerts: list[dict[str, Any]]) -> None:
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(f"{api}/alerts", json.dumps(alerts).encode(), headers)
    urllib.request.urlopen(request, timeout=5).close()


def failed_notifications(port: int) -> float:
    """Alertmanager's own count of webhook notifications that failed (here: the relay's 401)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith('alertmanager_notifications_failed_total{integration="webhook"')
    )
