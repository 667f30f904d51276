"""The path from Prometheus to the people on call, with a part of it gone during an incident:
one of two clustered Alertmanagers killed, or the relay (`envwatch notify`) down.

The incident is WorkerDown: Prometheus scrapes a worker's metrics port where no worker runs
(the rule's wait cut to 1 s); in the cluster test it ends when a real worker starts on that
port. It goes to the platform team (DingTalk) by the shipped routing with the test waits
(tests/support/monitoring.py).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from envwatch.embedded import free_port
from envwatch.summary import scrape
from tests.support.monitoring import Alertmanager, Prometheus, Webhook
from tests.support.relay import TOKEN, Relays
from tests.support.services import wait_until

RELAY_DOWN_S = 60
INCIDENT = {"WorkerDown": "1s"}


@pytest.fixture
def stopped_after() -> Iterator[Callable[[Any], Any]]:
    """Stops what the test started (anything with stop() or close()), last first."""
    things: list[Any] = []

    def keep(thing: Any) -> Any:
        things.append(thing)
        return thing

    yield keep
    for thing in reversed(things):
        (thing.close if isinstance(thing, Webhook) else thing.stop)()


def statuses(webhook: Webhook) -> list[tuple[str, str]]:
    """(status, sending Alertmanager) of each WorkerDown notification, in arrival order."""
    return [
        (n["status"], n["externalURL"])
        for n in webhook.notifications("WorkerDown", channel="dingtalk")
    ]


def test_two_clustered_alertmanagers_one_killed_mid_incident(
    settings, start_worker, stopped_after, figures, tmp_path
):
    webhook = stopped_after(Webhook())
    gossip = [free_port(), free_port()]
    pair = []
    for n, own in enumerate(gossip):
        (tmp_path / f"am{n}").mkdir()
        peers = [port for port in gossip if port != own]
        am = Alertmanager(tmp_path / f"am{n}", webhook, cluster_port=own, peers=peers)
        pair.append(stopped_after(am).start())
    wait_until(
        lambda: all(
            (c := am.status()["cluster"])["status"] == "ready" and len(c["peers"]) == 2
            for am in pair
        ),
        30,
        "the two Alertmanagers to form a cluster",
    )
    prom = Prometheus(tmp_path, settings.metrics_port, [am.port for am in pair], rule_for=INCIDENT)
    stopped_after(prom).start()
    ((_, sender),) = wait_until(lambda: statuses(webhook), 60, "the WorkerDown notification")
    time.sleep(2)  # the sender's notification log reaches its peer (gossip every 0.2 s)
    victim = next(am for am in pair if sender == f"http://127.0.0.1:{am.port}")
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
        resolved_after_kill_s=round(resolved_s, 1),
    )
    assert notes == [
        ("firing", sender),
        ("resolved", f"http://127.0.0.1:{survivor.port}"),
    ], "one page from the cluster, and one resolve from the survivor"


def robot_titles(webhook: Webhook, channel: str) -> list[str]:
    """Titles of the messages the relay delivered to a robot (the webhook stands in)."""
    return [
        body["markdown"]["title"]
        for query, body in webhook.received
        if query.get("channel") == [f"robot-{channel}"]
    ]


def failed_sends(am: Alertmanager) -> float:
    samples = scrape(f"http://127.0.0.1:{am.port}/metrics")[
        "alertmanager_notifications_failed_total"
    ]
    return sum(v for labels, v in samples.items() if ("integration", "webhook") in labels)


def test_the_relay_down_for_a_minute_mid_incident(stopped_after, figures, tmp_path: Path):
    webhook = stopped_after(Webhook())
    robot = f"{webhook.url}/robot?channel=robot-"
    env = {
        "ENVWATCH_NOTIFY_DINGTALK_URL": f"{robot}dingtalk",
        "ENVWATCH_NOTIFY_WECOM_URL": f"{robot}wecom",
    }
    env["ENVWATCH_NOTIFY_PORT"] = str(free_port())  # the same address when it comes back
    relays = stopped_after(Relays(tmp_path))
    relay = relays.start(**env)
    relays.stop_last()
    down_at = time.monotonic()
    am = stopped_after(Alertmanager(tmp_path, webhook, relay_url=relay, token=TOKEN))
    am.start()
    stopped_after(Prometheus(tmp_path, free_port(), [am.port], rule_for=INCIDENT)).start()
    wait_until(lambda: failed_sends(am), 60, "Alertmanager to fail to reach the relay")
    time.sleep(max(0.0, down_at + RELAY_DOWN_S - time.monotonic()))
    failed = failed_sends(am)
    relays.start(**env)
    back_at = time.monotonic()
    down_s = back_at - down_at
    wait_until(lambda: robot_titles(webhook, "dingtalk"), 60, "the page after the relay is back")
    delivered_s = time.monotonic() - back_at
    time.sleep(4)  # two group intervals, for any second delivery
    titles = robot_titles(webhook, "dingtalk")
    figures(
        sent=0,
        stored=0,
        dead_lettered=0,
        notifications=len(titles),
        relay_down_s=round(down_s, 1),
        failed_sends_while_down=int(failed),
        delivered_after_restart_s=round(delivered_s, 1),
    )
    assert len(titles) == 1 and "处理进程宕机" in titles[0], titles
    assert not robot_titles(webhook, "wecom"), "the platform's page goes to DingTalk only"
