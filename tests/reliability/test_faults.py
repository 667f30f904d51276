"""Faults under load: a killed worker, a lost group member, the database down (its server
stopped, or the network to it cut) or stalled, Prometheus restarted or stopped. Each test
counts rows and notifications.

All real: the embedded broker, PostgreSQL, worker processes, Prometheus on the shipped rules,
Alertmanager on the shipped routing (waits in seconds: tests/support/faults.py). Readings are
hourly PM2.5 in batch messages of 100 per station, from the stations of tests/support/faults.py.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import psycopg
import pytest
from pydantic import SecretStr

from envwatch.embedded import free_port
from streams.settings import Settings
from tests.support.faults import (
    BREACHING,
    STATIONS,
    air_batches,
    am_alerts,
    distinct_readings,
    era,
    firing_sites,
    heartbeats,
    level,
    send,
    stored,
)
from tests.support.proxy import TcpProxy
from tests.support.services import committed, database_proxy, through, wait_until


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


def heavy(worker, site: str, metric: str = "envwatch_alert_value") -> float:
    try:
        return worker.metric(metric, condition="air_aqi_heavy", site=site)
    except OSError:  # a killed worker answers nothing
        return 0.0


def test_two_workers_one_killed_the_other_takes_over(
    settings, start_worker, postgres, monitoring, figures
):
    start = era()
    first = air_batches(STATIONS, start, range(0, 300), level)
    second = air_batches(STATIONS, start, range(300, 600), level)
    end = start + timedelta(hours=600)
    other = settings.model_copy(update={"metrics_port": free_port()})
    workers = [start_worker(settings), start_worker(other)]
    webhook, _am, prom = monitoring(
        [settings.metrics_port, other.metrics_port], keep_firing_for="3m"
    )
    sent = send(settings, "air", first)
    with psycopg.connect(postgres.url(), autocommit=True) as db:
        wait_until(lambda: stored(db, STATIONS, start, end) == sent, 120, "the first half")
        wait_until(
            lambda: sorted(firing_sites(webhook, "AirAqiHeavy")) == sorted(BREACHING),
            60,
            "one AirAqiHeavy notification per breaching station",
        )
        owner = wait_until(
            lambda: (
                (found := {s: w for w in workers for s in BREACHING if heavy(w, s) > 0}).keys()
                == BREACHING
                and found
            ),
            30,
            "each breaching station exported by one worker",
        )
        victim = owner["air-wucheng-01"]
        survivor = next(w for w in workers if w is not victim)
        moved = {s for s, w in owner.items() if w is victim}
        since = {s: heavy(victim, s, "envwatch_alert_since_timestamp_seconds") for s in moved}
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()

        sent += send(settings, "air", second)
        wait_until(lambda: stored(db, STATIONS, start, end) == sent, 120, "every reading")
        rows = stored(db, STATIONS, start, end)
        distinct = distinct_readings(db, STATIONS, start, end)
    carried = wait_until(
        lambda: (
            all(heavy(survivor, s) > 0 for s in moved)
            and {s: heavy(survivor, s, "envwatch_alert_since_timestamp_seconds") for s in moved}
        ),
        30,
        "the moved sites' alerts on the survivor",
    )
    time.sleep(6)  # several group intervals after the move
    notified = firing_sites(webhook, "AirAqiHeavy")
    figures(
        sent=sent,
        stored=rows,
        dead_lettered=0,
        moved_breaching_sites=len(moved),
        notifications=len(webhook.notifications("AirAqiHeavy")),
        firing_alerts_notified=len(notified),
    )
    assert rows == distinct == sent
    assert carried == since, "the alert state of a moved site must carry over"
    assert {a["site"] for a in prom.firing("AirAqiHeavy")} == BREACHING
    assert sorted(notified) == sorted(BREACHING), "no second notification for a moved site"


@dataclass
class Outage:
    """The database gone for the worker: its server stopped, or the network to it cut (the
    worker then reaches the server only through a proxy, which resets its connections)."""

    settings: Settings
    down: Callable[[], object]
    up: Callable[[], object]
    proxy: TcpProxy | None = None

    def figures(self) -> dict[str, int]:
        if self.proxy is None:
            return {}
        return {"connections_reset": self.proxy.dropped, "connections_refused": self.proxy.refused}


@pytest.fixture(params=["server-stopped", "network-cut"])
def outage(request, settings, postgres) -> Iterator[Outage]:
    if request.param == "server-stopped":
        yield Outage(settings, postgres.stop, postgres.start)
        return
    proxy = database_proxy(postgres)
    url = through(proxy, settings.database_url.get_secret_value())
    settings = settings.model_copy(update={"database_url": SecretStr(url)})
    yield Outage(settings, proxy.cut, proxy.restore, proxy)
    proxy.close()


def test_database_down_30_s_under_load(outage, start_worker, postgres, monitoring, figures):
    settings = outage.settings
    worker = start_worker(settings)
    webhook, _am, prom = monitoring([settings.metrics_port], rule_for={"DatabaseWriteErrors": "5s"})
    start = era()
    end = start + timedelta(hours=400)
    before = air_batches(STATIONS, start, range(0, 50), level, batch=10)
    sent = send(settings, "air", before)
    messages = len(before)
    with psycopg.connect(postgres.url(), autocommit=True) as db:
        wait_until(lambda: stored(db, STATIONS, start, end) == sent, 60, "readings before")
    wait_until(lambda: committed(settings) == messages, 30, "offsets of the stored readings")

    outage.down()
    down_at = time.monotonic()
    commits_while_down = set()
    try:
        for first in range(50, 350, 50):  # a round of 1,000 readings every 5 s
            batch = air_batches(STATIONS, start, range(first, first + 50), level, batch=10)
            sent += send(settings, "air", batch)
            messages += len(batch)
            commits_while_down.add(committed(settings))
            time.sleep(max(0.0, down_at + (first - 50) / 10 - time.monotonic()))
        wait_until(
            lambda: prom.firing("DatabaseWriteErrors"), 30, "DatabaseWriteErrors in Prometheus"
        )
        wait_until(
            lambda: webhook.notifications("DatabaseWriteErrors", channel="dingtalk"),
            30,
            "the DatabaseWriteErrors notification to the platform team",
        )
        time.sleep(max(0.0, down_at + 30 - time.monotonic()))
        commits_while_down.add(committed(settings))
        errors = worker.metric("envwatch_db_write_errors_total")
    finally:
        outage.up()
    down_s = time.monotonic() - down_at

    with psycopg.connect(postgres.url(), autocommit=True) as db:
        wait_until(lambda: stored(db, STATIONS, start, end) == sent, 120, "every reading after")
        wait_until(lambda: committed(settings) == messages, 30, "offsets to catch up")
        rows = stored(db, STATIONS, start, end)
        distinct = distinct_readings(db, STATIONS, start, end)
    notes = webhook.notifications("DatabaseWriteErrors", channel="dingtalk")
    figures(
        sent=sent,
        stored=rows,
        duplicates=int(worker.metric("envwatch_rows_duplicate_total")),
        dead_lettered=0,
        down_s=round(down_s, 1),
        write_errors=int(errors),
        committed_while_down=sorted(commits_while_down),
        notifications=len(notes),
        **outage.figures(),
    )
    assert worker.process.poll() is None, "the worker must ride out the outage"
    assert commits_while_down == {len(before)}, "an offset was committed for an unwritten reading"
    assert rows == distinct == sent
    assert notes[0]["status"] == "firing"


def test_a_hanging_database_call_raises_the_lag_alert(
    settings, start_worker, postgres, monitoring, figures
):
    worker = start_worker(settings)
    webhook, _am, prom = monitoring(
        [settings.metrics_port],
        rule_for={"ConsumerLagGrowing": "5s"},
        rule_text=[("deriv(envwatch_consumer_lag[10m])", "deriv(envwatch_consumer_lag[30s])")],
    )
    start = era()
    end = start + timedelta(hours=1000)
    sent = send(settings, "air", air_batches(STATIONS, start, range(0, 1), level, batch=1))
    messages = len(STATIONS)
    with psycopg.connect(postgres.url(), autocommit=True) as db:
        wait_until(lambda: stored(db, STATIONS, start, end) == sent, 60, "the first readings")

    lag_seen = 0.0
    with psycopg.connect(postgres.url()) as lock:
        # Inserts into air_readings now wait for this transaction: the worker's write hangs.
        lock.execute("LOCK TABLE air_readings IN ACCESS EXCLUSIVE MODE")
        hour = 1
        deadline = time.monotonic() + 40
        while not prom.firing("ConsumerLagGrowing"):
            assert time.monotonic() < deadline, f"no lag alert; lag {lag_seen}"
            # One reading per message, as a slow agency might send them: 1,000 every 2 s.
            batch = air_batches(STATIONS, start, range(hour, hour + 50), level, batch=1)
            sent += send(settings, "air", batch)
            messages += len(batch)
            hour += 50
            lag_seen = max(lag_seen, worker.metric("envwatch_consumer_lag"))
            time.sleep(2)
        wait_until(
            lambda: webhook.notifications("ConsumerLagGrowing", channel="dingtalk"),
            30,
            "the ConsumerLagGrowing notification",
        )
        lock.rollback()

    with psycopg.connect(postgres.url(), autocommit=True) as db:
        wait_until(lambda: stored(db, STATIONS, start, end) == sent, 120, "every reading after")
        wait_until(lambda: committed(settings) == messages, 60, "offsets to catch up")
        rows = stored(db, STATIONS, start, end)
    notes = webhook.notifications("ConsumerLagGrowing", channel="dingtalk")
    figures(
        sent=sent,
        messages=messages,
        stored=rows,
        dead_lettered=0,
        max_lag_exported=int(lag_seen),
        notifications=len(notes),
    )
    assert rows == sent
    assert notes[0]["status"] == "firing"


def test_prometheus_restarted_during_an_incident(settings, start_worker, monitoring, figures):
    start_worker(settings)
    webhook, am, prom = monitoring([settings.metrics_port], keep_firing_for="3m")
    start = era()
    sent = send(settings, "air", air_batches(["air-wucheng-01"], start, range(0, 5), level))
    sent += send(settings, "air", air_batches(["air-jindong-01"], start, range(0, 5), level))
    wait_until(
        lambda: firing_sites(webhook, "AirAqiHeavy") == ["air-wucheng-01"],
        60,
        "the incident's notification",
    )
    prom.stop()
    time.sleep(5)
    prom.start()
    wait_until(lambda: prom.firing("AirAqiHeavy"), 30, "the alert in the restarted Prometheus")
    time.sleep(8)  # several evaluations and group intervals
    statuses = [n["status"] for n in webhook.notifications("AirAqiHeavy")]
    held = am_alerts(am, "AirAqiHeavy")
    figures(sent=sent, stored=sent, dead_lettered=0, notifications=len(statuses))
    assert statuses == ["firing"], "no second page and no resolve"
    assert [a["status"]["state"] for a in held] == ["active"]


def test_the_watchdog_stops_when_prometheus_stops(monitoring, figures):
    # Prometheus tells Alertmanager an alert ends 4 resend delays after its last send; with
    # the default delay (1 min) heartbeats go on for 4 minutes after Prometheus dies.
    webhook, am, prom = monitoring([free_port()], flags=["--rules.alert.resend-delay=1s"])
    wait_until(lambda: heartbeats(webhook) >= 3, 30, "three heartbeats")
    running = heartbeats(webhook)
    prom.stop()
    wait_until(lambda: not am_alerts(am, "Watchdog"), 30, "the Watchdog alert to expire")
    after_stop = heartbeats(webhook)
    time.sleep(5)  # more than two heartbeat intervals
    figures(
        sent=0,
        stored=0,
        dead_lettered=0,
        heartbeats_while_running=running,
        heartbeats_after_stop=after_stop - running,
        heartbeats_after_expiry=heartbeats(webhook) - after_stop,
    )
    assert heartbeats(webhook) == after_stop, "the heartbeat must stop"
