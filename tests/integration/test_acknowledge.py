"""Acknowledging alerts through the real relay, a real Alertmanager and PostgreSQL.

Alerts are posted to Alertmanager's API as Prometheus posts them, so each step is quick and
exact; the whole chain with the worker and Prometheus is tests/e2e/test_acknowledge_escalate.py.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from alerts.notify import tokens
from alerts.notify.format import dingtalk_sign
from envwatch.embedded import WRITER_ROLE, EmbeddedPostgres
from tests.support.monitoring import Alertmanager, get_json
from tests.support.relay import ROOT, AckStack, Robot, request
from tests.support.services import wait_until

SECRET = "ack-secret-for-tests"
APP_SECRET = "dingtalk-app-secret"
LINK = re.compile(r"\[确认收到\]\((http://[^)]+/ack/([A-Za-z0-9_-]+))\)")


def labels_of(site: str) -> dict[str, str]:
    return {"alertname": "AirAqiHeavy", "severity": "critical", "county": "yiwu", "site": site,
            "parameter": "aqi", "condition": "air_aqi_heavy", "feed": "air"}  # fmt: skip


class Incidents:
    """Alerts posted to Alertmanager as Prometheus does (firing: an end a few minutes ahead)."""

    def __init__(self, am: Alertmanager) -> None:
        self.api = f"http://127.0.0.1:{am.port}/api/v2"
        self.started: dict[str, datetime] = {}

    def post(self, site: str, value: str, resolved: bool = False) -> None:
        start = self.started.setdefault(site, datetime.now(UTC))
        end = datetime.now(UTC) + (timedelta(0) if resolved else timedelta(minutes=5))
        notes = {"title_zh": "空气重度污染", "value": value, "current": value, "limit": "200",
                 "unit": "", "runbook": "airaqiheavy"}  # fmt: skip
        alert = {"labels": labels_of(site), "annotations": notes,
                 "startsAt": start.isoformat(), "endsAt": end.isoformat()}  # fmt: skip
        assert request(f"{self.api}/alerts", [alert], authorization=None)[0] == 200

    def alert(self, site: str) -> dict[str, Any]:
        (found,) = [a for a in get_json(f"{self.api}/alerts") if a["labels"]["site"] == site]
        return found

    def silences(self) -> list[dict[str, Any]]:
        return get_json(f"{self.api}/silences")


def messages(robot: Robot, channel: str, site: str, tag: str) -> list[str]:
    return [t for t in robot.texts(f"/{channel}") if site in t and t.startswith(f"### 【{tag}】")]


def history(postgres: EmbeddedPostgres, fingerprint: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(postgres.url()) as conn:
        return conn.execute(
            "SELECT transition, actor, alertname, site_id, severity, starts_at IS NOT NULL "
            "FROM alert_history WHERE fingerprint = %s ORDER BY at",
            (fingerprint,),
        ).fetchall()


def with_fingerprint(token: str, fingerprint: str) -> str:
    """A signed token with another alert's fingerprint put in, its signature left as it was."""
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[:8] = bytes.fromhex(fingerprint)
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def ack_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "envwatch.cli", "ack", *args],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip


def dingtalk(relay: str, said: str, nick: str, secret: str = APP_SECRET) -> tuple[int, Any]:
    """What DingTalk posts when someone @-mentions the robot, signed with ``secret``."""
    stamp = int(time.time() * 1000)
    body = {"msgtype": "text", "text": {"content": said}, "senderNick": nick}
    signed = {"timestamp": str(stamp), "sign": dingtalk_sign(secret, stamp)}
    return request(f"{relay}/dingtalk/callback", body, authorization=None, headers=signed)


@pytest.fixture
def stack(robot: Robot, postgres: EmbeddedPostgres, tmp_path) -> Iterator[AckStack]:
    made = AckStack.make(tmp_path, robot, postgres.url(WRITER_ROLE),
                         ENVWATCH_NOTIFY_ACK_SECRET=SECRET,
                         ENVWATCH_NOTIFY_DINGTALK_APP_SECRET=APP_SECRET)  # fmt: skip
    yield made
    made.stop()


def test_acknowledge_silences_records_tells_and_ends_with_the_alert(
    stack: AckStack, robot: Robot, postgres: EmbeddedPostgres
) -> None:
    relay = stack.start()
    incidents = Incidents(stack.am)
    site, other = "air-yiwu-01", "air-yiwu-02"
    incidents.post(site, "236")
    incidents.post(other, "241")
    wait_until(lambda: messages(robot, "wecom", site, "严重") and messages(robot, "wecom", other,
               "严重"), 30, "both pages")  # fmt: skip
    page = messages(robot, "wecom", site, "严重")[0]
    (link, token), (_, other_token) = (
        LINK.search(page).groups(),  # type: ignore[union-attr]
        LINK.search(messages(robot, "wecom", other, "严重")[0]).groups(),  # type: ignore[union-attr]
    )
    assert f"确认码 {token}" in page and len(token) == 38
    fingerprint = incidents.alert(site)["fingerprint"]

    # Opening the link (as a chat app's preview does) shows the form and changes nothing.
    status, body = request(link, authorization=None)
    assert status == 200 and 'name="by"' in body["text"] and "空气重度污染" in body["text"]
    assert incidents.silences() == [] and history(postgres, fingerprint) == []

    # Refused: a forged token, an expired one, and a signed token of this alert altered to
    # name the other one (the signature no longer fits).
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    grant = tokens.verify(SECRET.encode(), token, time.time())
    expired = tokens.mint(SECRET.encode(), tokens.Grant(grant.fingerprint, grant.starts_at,
                                                        int(time.time()) - 1))  # fmt: skip
    other_fingerprint = tokens.verify(SECRET.encode(), other_token, time.time()).fingerprint
    swapped = with_fingerprint(token, other_fingerprint)
    for bad, status_expected, words in ((forged, 403, "无效"), (expired, 410, "过期"),
                                        (swapped, 403, "无效")):  # fmt: skip
        status, answer = request(f"{relay}/ack/{bad}", {"by": "李四"}, authorization=None)
        assert (status, answer["acknowledged"]) == (status_expected, False), answer
        assert words in answer["message"]
    assert incidents.silences() == [] and history(postgres, fingerprint) == []

    # From a terminal, with the link of the message.
    reminders = len(messages(robot, "wecom", site, "严重"))
    done = ack_cli(link, "--by", "张三")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("已确认，确认人 张三 【严重】金华 义乌市 空气重度污染")
    assert history(postgres, fingerprint) == [("acknowledged", "张三", "AirAqiHeavy", site,
                                               "critical", True)]  # fmt: skip
    (silence,) = incidents.silences()
    assert silence["createdBy"] == "张三" and silence["status"]["state"] == "active"
    assert {m["name"]: m["value"] for m in silence["matchers"]} == labels_of(site)
    assert incidents.alert(site)["status"]["state"] == "suppressed"
    assert incidents.alert(other)["status"]["state"] == "active"  # the token was only for this one
    for channel in ("wecom", "dingtalk"):  # the groups that got the page hear who acknowledged
        wait_until(lambda c=channel: messages(robot, c, site, "已确认"), 10, f"{channel} notice")
        (notice,) = messages(robot, channel, site, "已确认")
        assert "> 确认人：张三（" in notice and "确认收到" not in notice
    # The reminders stop (Alertmanager reminds every 4 s); the other alert's go on.
    others_before = len(messages(robot, "wecom", other, "严重"))
    time.sleep(10)
    assert len(messages(robot, "wecom", site, "严重")) <= reminders + 1  # one in flight at most
    assert len(messages(robot, "wecom", other, "严重")) > others_before
    again = ack_cli(link, "--by", "王五")
    assert again.returncode == 0 and again.stdout.startswith("已由 张三 确认")

    # The chat command, signed as DingTalk signs it; the same unsigned is refused.
    assert dingtalk(relay, f"@值班机器人 确认 {other_token}", "赵六", secret="wrong")[0] == 403
    status, reply = dingtalk(relay, f"@值班机器人 确认 {other_token}", "赵六")
    assert status == 200 and reply["text"]["content"].startswith("已确认，确认人 赵六")
    assert incidents.alert(other)["status"]["state"] == "suppressed"
    metrics = request(f"{relay}/metrics")[1]["text"]
    for by, site_of in (("张三", site), ("赵六", other)):  # what the escalation rules read
        series = (f'envwatch_alert_acknowledged_timestamp_seconds{{acknowledged_by="{by}",'
                  f'alertname="AirAqiHeavy",county="yiwu",feed="air",parameter="aqi",'
                  f'severity="critical",site="{site_of}"}}')  # fmt: skip
        assert series in metrics, metrics

    # A restarted relay knows what was acknowledged (from alert_history and Alertmanager).
    stack.relays.stop_last()
    relay = stack.start()
    status, answer = request(f"{relay}/ack/{token}", {"by": "王五"}, authorization=None)
    assert status == 200 and answer["message"].startswith("已由 张三 确认"), answer

    # The alert resolves while silenced: Alertmanager says nothing of it, the relay does,
    # once per group, ends the silence, and refuses the token from then on.
    incidents.post(site, "150", resolved=True)
    for channel in ("wecom", "dingtalk"):
        wait_until(lambda c=channel: messages(robot, c, site, "已恢复"), 20, f"{channel} resolved")
    time.sleep(8)  # several of Alertmanager's group intervals: no second resolved message
    for channel in ("wecom", "dingtalk"):
        (resolved,) = messages(robot, channel, site, "已恢复")
        assert "> 恢复时数值：236（限值 200）" in resolved and "> 确认人：张三" in resolved
    states = {s["id"]: s["status"]["state"] for s in incidents.silences()}
    assert states[silence["id"]] == "expired"
    status, answer = request(f"{relay}/ack/{token}", {"by": "王五"}, authorization=None)
    assert (status, answer["acknowledged"]) == (410, False) and "已恢复" in answer["message"]
    refused = ack_cli(link, "--by", "王五")
    assert refused.returncode == 1 and refused.stderr.startswith("envwatch ack: 该告警已恢复")
    assert refused.stderr.count("\n") == 1
