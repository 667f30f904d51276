"""Faults under load: a killed worker, a lost group member, the database down or stalled,
Prometheus restarted or stopped. Each test counts rows and notifications.

All real: the embedded broker, PostgreSQL, worker processes, Prometheus on the shipped rules,
Alertmanager on the shipped routing (waits in seconds: tests/support/faults.py). Readings are
hourly PM2.5 in batch messages of 100 per station; breaching stations sit near 200 µg/m³
(AQI about 250, AirAqiHeavy, critical), the others near 30. The breaching stations are in
different counties, so no haze episode folds them into one county-wide alert.
"""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import psycopg

from tests.support.faults import (
    air_batches,
    committed,
    distinct_readings,
    era,
    firing_sites,
    send,
    stored,
)
from tests.support.services import wait_until

STATIONS = [
    "air-wucheng-01",
    "air-wucheng-02",
    "air-jindong-01",
    "air-jindong-02",
    "air-lanxi-01",
    "air-lanxi-02",
    "air-dongyang-01",
    "air-dongyang-02",
    "air-yiwu-01",
    "air-yiwu-02",
    "air-yongkang-01",
    "air-yongkang-02",
    "air-pujiang-01",
    "air-pujiang-02",
    "air-wuyi-01",
    "air-wuyi-02",
    "air-panan-01",
    "air-panan-02",
    "air-lanxi-03",
    "air-yiwu-03",
]
BREACHING = {"air-wucheng-01", "air-lanxi-01", "air-yiwu-01", "air-panan-02"}


def level(station: str) -> float:
    return 200.0 if station in BREACHING else 30.0


def test_kill_9_halfway_through_100k_readings(
    settings, start_worker, postgres, monitoring, figures
):
    start = era()
    hours = 5000  # 20 stations x 5,000 hours = 100,000 readings in 1,000 messages
    end = start + timedelta(hours=hours)
    messages = air_batches(STATIONS, start, range(hours), level)
    # Batches of at most 20 messages (2,000 readings): the kill lands between many commits.
    env = {"ENVWATCH_BATCH_MAX": "20"}
    worker = start_worker(settings, **env)
    webhook, _am, prom = monitoring([settings.metrics_port], keep_firing_for="3m")

    t0 = time.monotonic()
    sent = send(settings, "air", messages)
    assert sent == 100_000
    with psycopg.connect(postgres.url(), autocommit=True) as db:
        half = wait_until(
            lambda: (n := stored(db, STATIONS, start, end)) >= sent // 2 and n,
            120,
            "half of the readings stored",
            every_s=0.05,
        )
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait()
        at_kill = stored(db, STATIONS, start, end)
        worker = start_worker(settings, **env)
        # The first 50 messages again, as a producer retrying after a timeout would.
        resent = send(settings, "air", messages[:50])
        wait_until(lambda: stored(db, STATIONS, start, end) == sent, 180, "every reading stored")
        all_stored_s = time.monotonic() - t0
        wait_until(
            lambda: committed(settings) == len(messages) + 50, 90, "offsets committed", every_s=1
        )
        rows = stored(db, STATIONS, start, end)
        distinct = distinct_readings(db, STATIONS, start, end)

    wait_until(
        lambda: sorted(firing_sites(webhook, "AirAqiHeavy")) == sorted(BREACHING),
        60,
        "one AirAqiHeavy notification per breaching station",
    )
    time.sleep(6)  # several group intervals after the last one
    notified = firing_sites(webhook, "AirAqiHeavy")
    resolved = [n for n in webhook.notifications("AirAqiHeavy") if n["status"] == "resolved"]
    figures(
        sent=sent + resent,
        distinct_sent=sent,
        stored_at_kill=at_kill,
        stored=rows,
        dead_lettered=0,
        notifications=len(notified),
        resolved=len(resolved),
        seconds_to_all_stored=round(all_stored_s, 1),
    )
    assert half >= sent // 2 and at_kill < sent, "the kill must come before the end"
    assert rows == distinct == sent
    assert sorted(notified) == sorted(BREACHING), "each expected alert exactly once"
    assert not resolved
    assert {a["site"] for a in prom.firing("AirAqiHeavy")} == BREACHING
    assert not set(firing_sites(webhook, "AirAqiLight")) - BREACHING
