"""Acknowledge and escalate, end to end: the worker judges real readings, Prometheus evaluates
the shipped rules (and the escalation rules over the relay's series, which it scrapes with the
token), Alertmanager routes with the shipped tree, and the relay delivers to stand-in robots:
the on-call groups (WeCom, DingTalk), the duty supervisor and the director.

Waits are shortened: reminders of critical alerts every 4 s, escalation after 20 s and 20 s
more; readings are an hour apart in reading time, so the worker's sustain and clear times of
an hour pass at once. Three stations in three counties (two in one would be a haze episode):
- pujiang: acknowledged at once, from the message's link: the reminders stop, it never
  escalates, and its resolution (which Alertmanager does not tell, the alert being silenced)
  comes from the relay, once per group;
- lanxi: nobody acknowledges it, it climbs to the supervisor once, who acknowledges it with
  `envwatch ack` and the code of the escalation message: the chain stops there;
- yongkang: nobody ever acknowledges it: the supervisor, then the director, once each, until
  it resolves.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import timedelta

import orjson
import psycopg
import pytest

from alerts.notify import tokens
from dashboards.command_centre import alert_states
from envwatch.embedded import WRITER_ROLE
from tests.support.monitoring import Prometheus
from tests.support.relay import ROOT, AckStack, Robot, request
from tests.support.services import producer, wait_until

SECRET = "e2e-ack-secret"
WAIT_S = 20  # each escalation level's wait
STATIONS = {"pujiang": "air-pujiang-01", "lanxi": "air-lanxi-01", "yongkang": "air-yongkang-01"}
COUNTY_ZH = {"pujiang": "浦江县", "lanxi": "兰溪市", "yongkang": "永康市"}
LINK = re.compile(r"\[确认收到\]\((http://[^)]+/ack/([A-Za-z0-9_-]+))\)")


def send(settings, window, station: str, hours: range, pm25: float) -> None:
    out = producer(settings)
    for h in hours:
        reading = {"station_id": station, "ts": (window + timedelta(hours=h)).isoformat(),
                   "pm25": pm25, "no2": 40.0}  # fmt: skip
        out.send(settings.topic("air"), key=station.encode(), value=orjson.dumps(reading))
    out.flush()
    out.close()


def said(robot: Robot, channel: str, county: str, tag: str) -> list[str]:
    """Messages of a county's heavy-pollution incident on a channel, with a title tag."""
    head = f"### 【{tag}】金华 {COUNTY_ZH[county]} 空气重度污染"
    return [text for text in robot.texts(f"/{channel}") if text.startswith(head)]


def in_both(robot: Robot, county: str, tag: str) -> bool:
    """Whether both on-call groups (WeCom, DingTalk) got such a message."""
    return all(said(robot, channel, county, tag) for channel in ("wecom", "dingtalk"))


def incident(robot: Robot, county: str) -> list[tuple[float, str, str]]:
    """(arrival, channel, text) of every message of a county's incident, in arrival order."""
    return [m for m in robot.log() if f"金华 {COUNTY_ZH[county]} 空气重度污染" in m[2]]


def first_pages_apart(robot: Robot, county: str, channel: str) -> float:
    """Seconds between the first two firing messages of an incident on a channel."""
    head = f"### 【严重】金华 {COUNTY_ZH[county]}"
    times = [at for at, c, text in incident(robot, county) if c == channel and head in text]
    return times[1] - times[0]


def post_form(url: str, by: str) -> tuple[int, str]:
    """The acknowledge page's form, submitted as a phone's browser does."""
    data = urllib.parse.urlencode({"by": by}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data), timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def states(prom: Prometheus) -> dict[str, tuple[int, str]]:
    """The command centre's alert panel, asked of this Prometheus: site -> (state, who)."""
    return {
        r["metric"].get("site", ""): (
            int(float(r["value"][1])),
            r["metric"].get("acknowledged_by") or r["metric"].get("escalated_to", ""),
        )
        for r in prom.query(alert_states())
        if r["metric"].get("alertname") == "AirAqiHeavy"
    }


@pytest.fixture
def stack(settings, start_worker, robot: Robot, postgres, tmp_path):
    start_worker(settings)
    robots = {"supervisor": f"{robot.url}/supervisor", "director": f"{robot.url}/director"}
    made = AckStack.make(
        tmp_path,
        robot,
        postgres.url(WRITER_ROLE),
        ENVWATCH_NOTIFY_ROBOTS=json.dumps(robots),
        ENVWATCH_NOTIFY_ESCALATION_AFTER_S=json.dumps({"critical": [WAIT_S, WAIT_S]}),
        ENVWATCH_NOTIFY_ACK_SECRET=SECRET,
    )
    made.start()
    relay = made.url.removeprefix("http://")
    prom = Prometheus(tmp_path, settings.metrics_port, [made.am.port], relay=relay,
                      relay_token_file=str(tmp_path / "notify_token"),
                      flags=["--rules.alert.resend-delay=1s"]).start()  # fmt: skip
    yield made.url, prom
    prom.stop()
    made.stop()


def test_acknowledge_stops_repeats_and_escalation_climbs_until_acknowledged(
    settings, stack, robot: Robot, postgres, window
) -> None:
    relay, prom = stack

    def wait(check: Callable[[], object], what: str, timeout: float = 90) -> None:
        wait_until(check, timeout, what)

    # All three breach (PM2.5 200 µg/m³, AQI 250) for three hours.
    for station in STATIONS.values():
        send(settings, window, station, range(0, 3), 200.0)

    for county in STATIONS:
        wait(lambda c=county: in_both(robot, c, "严重"), f"the page of {county}")
    paged_at = time.monotonic()

    # pujiang: acknowledged at once, from the link of its page, as on a phone.
    page = said(robot, "wecom", "pujiang", "严重")[0]
    link, token = LINK.search(page).groups()  # type: ignore[union-attr]
    status, body = post_form(link, "张三")
    assert status == 200 and "已确认，确认人 张三" in body, body
    for channel in ("wecom", "dingtalk"):
        wait(lambda c=channel: said(robot, c, "pujiang", "已确认"), f"{channel} told of it")
    pages_after_ack = len(said(robot, "wecom", "pujiang", "严重"))
    with psycopg.connect(postgres.url()) as conn:
        rows = conn.execute(
            "SELECT actor, alertname, site_id, county, severity, details->>'via' "
            "FROM alert_history WHERE transition = 'acknowledged' AND site_id = %s",
            (STATIONS["pujiang"],),
        ).fetchall()
    assert rows == [("张三", "AirAqiHeavy", STATIONS["pujiang"], "pujiang", "critical", "link")]

    # lanxi and yongkang: nobody acknowledges; after 20 s both climb to the supervisor, once.
    for county in ("lanxi", "yongkang"):
        wait(lambda c=county: said(robot, "supervisor", c, "升级"), f"{county} escalated")
    assert time.monotonic() - paged_at >= WAIT_S - 3  # the page came within 2 s of the breach
    wait(lambda: states(prom).get(STATIONS["lanxi"]) == (1, "duty-supervisor"), "panel: escalated")
    assert states(prom)[STATIONS["pujiang"]] == (2, "张三")  # the panel: acknowledged by whom
    escalation = said(robot, "supervisor", "lanxi", "升级")[0]
    assert "> 升级：无人确认，已升级至 duty-supervisor（第 1 级）" in escalation
    assert "> 当前值：250，超过限值 200" in escalation  # the alert it escalates, in full
    # The supervisor acknowledges lanxi from a terminal, with the code of that message.
    code = LINK.search(escalation).group(2)  # type: ignore[union-attr]
    done = subprocess.run(
        [sys.executable, "-m", "envwatch.cli", "ack", code, "--relay", relay, "--by", "李四"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.startswith("已确认，确认人 李四"), done.stderr
    wait(lambda: said(robot, "supervisor", "lanxi", "升级结束"), "the end of lanxi's escalation")
    assert "> 升级结束：已由 李四 确认" in said(robot, "supervisor", "lanxi", "升级结束")[0]

    # yongkang climbs on to the director at 40 s; lanxi, acknowledged, does not.
    wait(lambda: said(robot, "director", "yongkang", "升级"), "yongkang at the director")
    time.sleep(8)  # several evaluations and group intervals later
    assert said(robot, "director", "lanxi", "升级") == []
    assert said(robot, "supervisor", "pujiang", "升级") == []  # acknowledged in time
    for channel, county in (("supervisor", "lanxi"), ("supervisor", "yongkang"),
                            ("director", "yongkang")):  # fmt: skip
        assert len(said(robot, channel, county, "升级")) == 1, (channel, county)
    # Each breach paged once per group, then reminded every 4 s; the acknowledged alert's
    # reminders stopped, yongkang's went on.
    for county in ("lanxi", "yongkang"):
        for channel in ("wecom", "dingtalk"):
            assert first_pages_apart(robot, county, channel) > 3, (county, channel)
    assert len(said(robot, "wecom", "pujiang", "严重")) <= pages_after_ack + 1
    assert len(said(robot, "wecom", "yongkang", "严重")) >= 5

    # Refused: a forged token, an expired one.
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    grant = tokens.verify(SECRET.encode(), token, time.time())
    expired = tokens.mint(SECRET.encode(), tokens.Grant(grant.fingerprint, grant.starts_at,
                                                        int(time.time()) - 1))  # fmt: skip
    assert request(f"{relay}/ack/{forged}", {"by": "王五"}, authorization=None)[0] == 403
    assert request(f"{relay}/ack/{expired}", {"by": "王五"}, authorization=None)[0] == 410

    # Clean air: all three resolve. pujiang and lanxi were silenced, so the relay tells of it.
    for station in STATIONS.values():
        send(settings, window, station, range(3, 5), 20.0)

    for county in STATIONS:
        wait(lambda c=county: in_both(robot, c, "已恢复"), f"{county} resolved")
    wait(lambda: said(robot, "director", "yongkang", "升级结束"), "yongkang's escalation ended")
    time.sleep(6)
    for county in STATIONS:
        for channel in ("wecom", "dingtalk"):
            (resolved,) = said(robot, channel, county, "已恢复")
            assert "> 恢复时数值：29（限值 200）" in resolved, resolved
    assert "> 确认人：张三" in said(robot, "wecom", "pujiang", "已恢复")[0]
    assert "> 升级结束：告警已恢复" in said(robot, "director", "yongkang", "升级结束")[0]
    # A resolved alert's token is refused.
    status, answer = request(f"{relay}/ack/{token}", {"by": "王五"}, authorization=None)
    assert status == 410 and "已恢复" in answer["message"]
    assert states(prom) == {}

    print("\n\nlanxi's incident, as the receivers got it (reminders folded):")
    story = incident(robot, "lanxi")
    begun, told = story[0][0], {}
    for at, channel, text in story:
        shown = text.split("\n> 开始")[0]  # a reminder differs only in the time it has lasted
        told.setdefault((channel, shown), (at, text, -1))
        first, body, repeats = told[(channel, shown)]
        told[(channel, shown)] = (first, body, repeats + 1)
    for (channel, _), (at, text, repeats) in told.items():
        again = f", then {repeats} reminder(s) alike" if repeats else ""
        print(f"\n--- +{at - begun:.0f} s, {channel}{again} ---\n{text}")
