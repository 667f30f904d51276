"""The network between the worker and the broker cut for 30 s, under load and caught up.

The test starts a broker of its own that advertises a TCP proxy's address
(tests/support/services.py, ProxiedBroker), so every connection of the worker goes through the
proxy; the cut resets the worker's connections and each new one it makes, while the test's
own producer and offset checks pass. The same cut between the worker and the database is a
case of test_faults.py's database outage test.
"""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg
import pytest

from streams.topics import ensure_topics
from tests.support.faults import (
    BREACHING,
    STATIONS,
    air_batches,
    distinct_readings,
    era,
    firing_sites,
    level,
    send,
    stored,
)
from tests.support.monitoring import Webhook
from tests.support.services import committed, wait_until

CUT_S = 30
ROUND_S = 2  # a round of 1,000 readings (100 messages) every 2 s, before, during and after
HOURS_PER_ROUND = 50
# WorkerNotWriting with its waits in seconds: nothing stored for 10 s (not 10 min) while work
# waits, over a window of the same length, held 2 s. Not shorter: the lag it reads is exported
# every 5 s, so an idle worker's last export can show a lag for a few seconds after its last
# write, which a 5 s wait would take for a stall.
NOT_WRITING = [
    ("envwatch_last_write_timestamp_seconds) > 600", "envwatch_last_write_timestamp_seconds) > 10"),
    ("envwatch_messages_consumed_total[10m]", "envwatch_messages_consumed_total[10s]"),
    # WorkerCutOffFromBroker: no answer from the broker for 10 s, not a minute.
    (
        "envwatch_broker_last_contact_timestamp_seconds > 60",
        "envwatch_broker_last_contact_timestamp_seconds > 10",
    ),
]
CUT_OFF = "WorkerCutOffFromBroker"


# A pipeline alert, any but the always-firing heartbeat: what tells the platform team.
PIPELINE_ALERTS = 'ALERTS{component="pipeline",alertstate="firing",alertname!="Watchdog"}'


def statuses(webhook: Webhook, alertname: str) -> list[str]:
    """Of a pipeline alert's notifications to the platform team (DingTalk)."""
    return [n["status"] for n in webhook.notifications(alertname, channel="dingtalk")]


@pytest.mark.parametrize("cut_when", ["under-load", "caught-up"])
def test_broker_network_cut_30_s(
    cut_when, proxied_broker, settings, start_worker, postgres, monitoring, figures
):
    """Under load, the cut lands while the worker holds records it has not committed; caught
    up, it lands when everything sent is stored and committed. Agencies send throughout."""
    broker = proxied_broker
    settings = settings.model_copy(update={"kafka_bootstrap": broker.bootstrap})
    ensure_topics(settings)
    worker = start_worker(settings)
    webhook, _am, prom = monitoring(
        [settings.metrics_port],
        keep_firing_for="3m",
        rule_for={"WorkerNotWriting": "2s", CUT_OFF: "0s"},
        rule_text=NOT_WRITING,
    )
    start = era()
    end = start + timedelta(hours=1000)
    hours = iter(range(0, 1000, HOURS_PER_ROUND))
    sent = messages = 0  # readings and messages (of 10 readings) sent

    def send_round() -> None:
        nonlocal sent, messages
        first = next(hours)
        batch = air_batches(STATIONS, start, range(first, first + HOURS_PER_ROUND), level, 10)
        sent += send(settings, "air", batch)
        messages += len(batch)

    with psycopg.connect(postgres.url(), autocommit=True) as db:
        for _ in range(3):  # the worker keeps up with the load
            send_round()
            time.sleep(ROUND_S)
        if cut_when == "under-load":
            send_round()
            wait_until(
                lambda: stored(db, STATIONS, start, end) > sent - 1000,
                30,
                "the worker to store some of the last round",
                every_s=0.02,
            )
        else:
            wait_until(
                lambda: (
                    committed(settings) == messages and worker.metric("envwatch_consumer_lag") == 0
                ),
                30,
                "every offset committed and no lag exported",
            )
        dropped = broker.proxy.cut(worker.process.pid)
        cut_at = time.monotonic()
        at_cut, committed_at_cut = stored(db, STATIONS, start, end), committed(settings)
        commits_while_cut, alerted = {committed_at_cut}, {}
        for n in range(1, CUT_S // ROUND_S + 1):
            while time.monotonic() < cut_at + n * ROUND_S:
                for alert in prom.query(PIPELINE_ALERTS):
                    alerted.setdefault(alert["metric"]["alertname"], time.monotonic() - cut_at)
                time.sleep(0.5)
            if n < CUT_S // ROUND_S:
                send_round()
                commits_while_cut.add(committed(settings))
        stored_while_cut = stored(db, STATIONS, start, end) - at_cut
        broker.proxy.restore()
        restored_at = time.monotonic()
        send_round()
        wait_until(lambda: stored(db, STATIONS, start, end) == sent, 120, "every reading")
        caught_up_s = time.monotonic() - restored_at
        wait_until(lambda: committed(settings) == messages, 60, "offsets", every_s=0.5)
        rows = stored(db, STATIONS, start, end)
        distinct = distinct_readings(db, STATIONS, start, end)
    if CUT_OFF in alerted:
        wait_until(
            lambda: statuses(webhook, CUT_OFF) == ["firing", "resolved"],
            30,
            f"{CUT_OFF} firing, then resolved",
        )
    time.sleep(4)  # two group intervals after the last notification
    heavy = firing_sites(webhook, "AirAqiHeavy")
    resolved = [n for n in webhook.notifications("AirAqiHeavy") if n["status"] == "resolved"]
    not_writing = statuses(webhook, "WorkerNotWriting")
    cut_off = statuses(webhook, CUT_OFF)
    figures(
        sent=sent,
        stored=rows,
        duplicates=int(worker.metric("envwatch_rows_duplicate_total")),
        dead_lettered=0,
        records_refetched=int(worker.metric("envwatch_records_refetched_total")),
        notifications=len(heavy),
        worker_not_writing=not_writing,
        cut_off_from_broker=cut_off,
        alerts_while_cut={name: round(s, 1) for name, s in alerted.items()},
        stored_at_cut=at_cut,
        stored_while_cut=stored_while_cut,
        committed_while_cut=sorted(commits_while_cut),
        connections_reset=dropped,
        connections_refused=broker.proxy.refused,
        caught_up_after_s=round(caught_up_s, 1),
    )
    assert worker.process.poll() is None, "the worker must ride out the cut"
    assert rows == distinct == sent
    assert len(commits_while_cut) == 1, "no offset can move while the worker is cut off"
    assert sorted(heavy) == sorted(BREACHING), "each AirAqiHeavy exactly once"
    assert not resolved
    if cut_when == "under-load":
        assert committed_at_cut < messages, "the cut must land in the load"
    assert CUT_OFF in alerted, f"{sent - at_cut} readings waited at the broker; no {CUT_OFF}"
    assert cut_off == ["firing", "resolved"], "one page when cut off, one when back"
