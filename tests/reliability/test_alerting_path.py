"""The path from Prometheus to the people on call, with a part of it gone during an incident:
one of two clustered Alertmanagers killed, or the relay (`envwatch notify`) down.

The incident is WorkerDown: Prometheus scrapes a worker's metrics port where no worker runs
yet (the rule's wait cut to 1 s); it ends when a real worker starts on that port. It goes to
the platform team (DingTalk), by the shipped routing with the test waits
(tests/support/monitoring.py).
"""

from __future__ import annotations

import signal
import time

from envwatch.embedded import free_port
from tests.support.monitoring import Alertmanager, Prometheus, Webhook
from tests.support.services import wait_until


def statuses(webhook: Webhook) -> list[tuple[str, str]]:
    """(status, sending Alertmanager) of each WorkerDown notification, in arrival order."""
    return [
        (n["status"], n["externalURL"])
        for n in webhook.notifications("WorkerDown", channel="dingtalk")
    ]


def test_two_clustered_alertmanagers_one_killed_mid_incident(
    settings, start_worker, figures, tmp_path
):
    webhook = Webhook()
    gossip = [free_port(), free_port()]
    pair = []
    for n, own in enumerate(gossip):
        (tmp_path / f"am{n}").mkdir()
        pair.append(
            Alertmanager(
                tmp_path / f"am{n}",
                webhook,
                cluster_port=own,
                peers=[p for p in gossip if p != own],
            )
        )
    prom = None
    try:
        for am in pair:
            am.start()
        wait_until(
            lambda: all(
                (s := am.status()["cluster"])["status"] == "ready" and len(s["peers"]) == 2
                for am in pair
            ),
            30,
            "the two Alertmanagers to form a cluster",
        )
        prom = Prometheus(
            tmp_path, settings.metrics_port, [am.port for am in pair], rule_for={"WorkerDown": "1s"}
        ).start()
        t0 = time.monotonic()
        ((_, sender),) = wait_until(lambda: statuses(webhook), 60, "the WorkerDown notification")
        fired_s = time.monotonic() - t0
        time.sleep(2)  # the sender's notification log reaches its peer (gossip every 0.2 s)
        victim = next(am for am in pair if f"127.0.0.1:{am.port}" in sender)
        survivor = next(am for am in pair if am is not victim)
        assert victim.process is not None
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        killed_at = time.monotonic()

        start_worker(settings)  # the incident ends
        wait_until(lambda: len(statuses(webhook)) >= 2, 60, "the resolved notification")
        resolved_s = time.monotonic() - killed_at
        time.sleep(6)  # the survivor's peer timeout and two group intervals, for any repeat
        notes = statuses(webhook)
        figures(
            sent=0,
            stored=0,
            dead_lettered=0,
            notifications=len(notes),
            statuses=[status for status, _ in notes],
            fired_after_s=round(fired_s, 1),
            resolved_after_kill_s=round(resolved_s, 1),
        )
        assert notes == [
            ("firing", sender),
            ("resolved", f"http://127.0.0.1:{survivor.port}"),
        ], "one page from the cluster, and one resolve from the survivor"
    finally:
        if prom is not None:
            prom.stop()
        for am in pair:
            am.stop()
        webhook.close()
