"""A breach reaches the on-call webhook once, survives a worker restart, and resolves once.

Everything is real: the embedded broker, PostgreSQL, the worker process, Prometheus with the
shipped rule files and Alertmanager with the shipped routing; only addresses and waits are
shortened (tests/support/monitoring.py). Readings are an hour apart in reading time, so the
worker's sustain and clear times of an hour pass at once.
"""

from __future__ import annotations

import csv
import shutil
import time
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from envwatch.embedded import free_port
from schemas.reference import DEFAULT_DIR
from tests.support.monitoring import CRITICAL_REMINDERS, Alertmanager, Prometheus, Webhook
from tests.support.relay import TOKEN, Robot
from tests.support.services import committed, producer, wait_until

STATION = "air-pujiang-01"
QUIET = "air-pujiang-02"  # reports every 5 s in this test's register, then falls silent


@pytest.fixture
def register(tmp_path: Path) -> Path:
    """The shipped register, with one station reporting every 5 seconds."""
    folder = tmp_path / "reference"
    shutil.copytree(DEFAULT_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = folder / "stations.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    for row in rows:
        if row["id"] == QUIET:
            row["interval_s"] = "5"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


@pytest.fixture
def monitoring(settings, tmp_path):
    webhook = Webhook()
    am = Alertmanager(tmp_path, webhook).start()
    prom = Prometheus(tmp_path, settings.metrics_port, [am.port]).start()
    yield webhook, prom
    prom.stop()
    am.stop()
    webhook.close()


def send(
    settings, window, hours: range, pm25: float, station: str = STATION, step: float = 1.0
) -> None:
    out = producer(settings)
    for h in hours:
        reading = {
            "station_id": station,
            "ts": (window + timedelta(hours=h)).isoformat(),
            "pm25": pm25 + step * h,
            "no2": 40.0,
        }
        out.send(settings.topic("air"), key=station.encode(), value=orjson.dumps(reading))
    out.flush()
    out.close()


def statuses(webhook: Webhook, alertname: str) -> list[str]:
    return [n["status"] for n in webhook.notifications(alertname)]


def test_breach_notifies_once_survives_a_restart_and_resolves_once(
    settings, start_worker, monitoring, register, window
):
    webhook, prom = monitoring
    env = {"ENVWATCH_REFERENCE_DIR": str(register)}
    worker = start_worker(settings, **env)

    # PM2.5 around 200 µg/m³: AQI about 250, heavy pollution (critical), sustained an hour.
    send(settings, window, range(0, 3), pm25=200.0)
    started = time.monotonic()
    wait_until(
        lambda: statuses(webhook, "AirAqiHeavy") == ["firing"],
        60,
        "one firing notification of AirAqiHeavy",
    )
    breach_to_webhook = time.monotonic() - started
    (first,) = webhook.notifications("AirAqiHeavy")
    labels = first["alerts"][0]["labels"]
    assert labels["site"] == STATION and labels["county"] == "pujiang"
    assert labels["severity"] == "critical" and labels["parameter"] == "aqi"
    assert float(first["alerts"][0]["annotations"]["value"]) >= 250
    assert first["alerts"][0]["annotations"]["limit"] == "200"

    # Restart the worker mid-incident: the alert survives in its state table.
    worker.stop()
    worker = start_worker(settings, **env)
    wait_until(
        lambda: worker.metric("envwatch_alert_value", condition="air_aqi_heavy", site=STATION) > 0,
        60,
        "the restored alert series",
    )
    time.sleep(10)  # several evaluations and group intervals after the restart
    assert statuses(webhook, "AirAqiHeavy") == ["firing"]
    assert prom.firing("AirAqiHeavy"), "the alert must not have resolved during the restart"
    # The warning of the same station is inhibited while the critical alert fires.
    assert statuses(webhook, "AirAqiLight") == []

    # Clean air for two hours (reading time): the worker resolves; one resolved notification.
    send(settings, window, range(3, 6), pm25=20.0)
    wait_until(
        lambda: statuses(webhook, "AirAqiHeavy") == ["firing", "resolved"],
        90,
        "one resolved notification of AirAqiHeavy",
    )
    time.sleep(4)
    assert statuses(webhook, "AirAqiHeavy") == ["firing", "resolved"]
    assert "firing" not in statuses(webhook, "AirAqiLight")
    print(f"\nbreaching reading to webhook delivery: {breach_to_webhook:.1f} s")


def test_a_silent_station_raises_the_silence_alert(
    settings, start_worker, monitoring, register, window
):
    webhook, prom = monitoring
    start_worker(settings, ENVWATCH_REFERENCE_DIR=str(register))
    send(settings, window, range(0, 2), pm25=30.0, station=QUIET)
    wait_until(
        lambda: any(a.get("site") == QUIET for a in prom.firing("SiteSilent")),
        60,
        "SiteSilent for the station that stopped reporting",
    )
    wait_until(lambda: webhook.notifications("SiteSilent"), 30, "the silence notification")
    (alert,) = [
        a
        for n in webhook.notifications("SiteSilent")
        for a in n["alerts"]
        if a["labels"]["site"] == QUIET
    ]
    assert alert["status"] == "firing" and alert["labels"]["county"] == "pujiang"


def test_one_incident_s_messages_say_the_truth_in_every_state(
    settings, start_worker, start_relay, robot: Robot, tmp_path, window
):
    """Breach, the hysteresis band, resolution: what the on-call group reads at each step,
    from the worker through Prometheus, Alertmanager (reminding every few seconds) and the relay
    to the stand-in robot."""
    start_worker(settings)
    relay = start_relay(ENVWATCH_NOTIFY_WECOM_URL=f"{robot.url}/wecom",
                        ENVWATCH_NOTIFY_DINGTALK_URL=f"{robot.url}/dingtalk")  # fmt: skip
    am = Alertmanager(tmp_path, Webhook(), relay_url=relay, token=TOKEN, text=[CRITICAL_REMINDERS])
    am.start()
    # Prometheus re-sends a firing alert's annotations every second, not every minute.
    prom = Prometheus(tmp_path, settings.metrics_port, [am.port],
                      flags=["--rules.alert.resend-delay=1s"]).start()  # fmt: skip
    heavy = "【严重】金华 浦江县 空气重度污染"

    def said(*words: str) -> bool:
        return any(all(w in text for w in words) for text in robot.texts("/wecom"))

    try:
        # PM2.5 around 200 µg/m³ for three hours: AQI 250-252, above the limit of 200.
        send(settings, window, range(0, 3), pm25=200.0)
        wait_until(lambda: said(heavy, "当前值：25", "超过限值 200"), 90, "the page")
        # PM2.5 140: AQI 186, below the limit and above the clear threshold (180): still firing.
        send(settings, window, range(3, 4), pm25=140.0, step=0)
        wait_until(lambda: said(heavy, "当前值：186，已低于限值 200，尚未低于解除阈值 180"),
                   60, "a reminder in the hysteresis band")  # fmt: skip
        # Clean air for two hours: the worker resolves at the second; AQI 29 then.
        send(settings, window, range(4, 6), pm25=20.0, step=0)
        wait_until(lambda: said("【已恢复】金华 浦江县 空气重度污染", "恢复时数值：29（限值 200）"),
                   90, "the resolved message with the AQI at resolution")  # fmt: skip
    finally:
        prom.stop()
        am.stop()
    texts = robot.texts("/wecom")
    incident = [t for t in texts if "空气重度污染" in t]
    for text in incident:  # no message of this incident contradicts its own figures
        assert not ("已低于" in text and "超过限值" in text), text
        assert "docs/oncall.md" not in text and "grafana:3000" not in text, text
        assert "[处置手册](https://wiki.example.gov.cn/oncall#airaqiheavy)" in text
    assert incident[-1].startswith("### 【已恢复】"), incident[-1]
    assert "说明" not in incident[-1]  # the rule's summary tells of the firing state only
    distinct = [t for i, t in enumerate(incident) if i == 0 or t.split("开始")[0] !=
                incident[i - 1].split("开始")[0]]  # fmt: skip
    print("\n\nthe incident's messages to the WeCom group, repeats folded:")
    for text in distinct:
        print(f"\n{text}")


def test_a_station_silent_since_before_a_restart_raises_the_silence_alert(
    settings, start_worker, register, window, tmp_path
):
    env = {"ENVWATCH_REFERENCE_DIR": str(register)}
    worker = start_worker(settings, **env)
    send(settings, window, range(0, 2), pm25=30.0, station=QUIET)
    last = "envwatch_site_last_received_timestamp_seconds"
    wait_until(lambda: worker.metric(last, site=QUIET) > 0, 30, "the station's series")
    wait_until(lambda: committed(settings) == 2, 30, "its offsets committed after its state")
    assert worker.process is not None
    worker.process.kill()  # kill -9: nothing is saved on the way out
    worker.process.wait()

    restarted = start_worker(settings, **env)  # and the station sends nothing more
    received = wait_until(
        lambda: restarted.metric(last, site=QUIET), 60, "the silent station exported from its state"
    )
    assert received < time.time() - 1, "the arrival time is the one from before the restart"
    prom = Prometheus(tmp_path, settings.metrics_port, [free_port()]).start()
    try:
        wait_until(
            lambda: any(a.get("site") == QUIET for a in prom.firing("SiteSilent")),
            60,
            "SiteSilent from a Prometheus that never saw the worker before the restart",
        )
    finally:
        prom.stop()
