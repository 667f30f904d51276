"""A second worker joins: each alert series is exported by exactly one worker, the one that
owns the site's partition, and every alert resolves once its site recovers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import orjson
from kafka.partitioner.default import murmur2

from envwatch.embedded import free_port
from envwatch.summary import scrape
from tests.support.services import WorkerProcess, producer, wait_until

STATIONS = [
    "air-wucheng-01", "air-jindong-01", "air-lanxi-01", "air-dongyang-01", "air-yiwu-01",
    "air-yongkang-01", "air-pujiang-01", "air-wuyi-01", "air-panan-01", "air-lanxi-02",
]  # fmt: skip
ALERT = "envwatch_alert_value"


def send(settings, window, hours: Iterable[int], pm25: float) -> None:
    out = producer(settings)
    for station in STATIONS:
        batch = [
            {"station_id": station, "ts": (window + timedelta(hours=h)).isoformat(), "pm25": pm25}
            for h in hours
        ]
        out.send(settings.topic("air"), key=station.encode(), value=orjson.dumps(batch))
    out.flush()
    out.close()


def samples(worker: WorkerProcess, name: str) -> list[dict[str, str]]:
    return [dict(labels) for labels in scrape(worker.metrics_url).get(name, {})]


def alerting_sites(worker: WorkerProcess) -> set[str]:
    return {labels["site"] for labels in samples(worker, ALERT)}


def owned(worker: WorkerProcess, topic: str) -> set[int]:
    lag = samples(worker, "envwatch_consumer_lag")
    return {int(labels["partition"]) for labels in lag if labels["topic"] == topic}


def test_alert_series_follow_the_partitions_and_resolve(settings, start_worker, admin_db, window):
    first = start_worker(settings)
    send(settings, window, range(3), pm25=200.0)  # AQI 250 for two hours: heavy pollution
    wait_until(lambda: alerting_sites(first) == set(STATIONS), 60, "alerts of every station")

    second = start_worker(settings.model_copy(update={"metrics_port": free_port()}))
    topic = settings.topic("air")
    wait_until(
        lambda: (
            owned(first, topic)
            and owned(second, topic)
            and owned(first, topic) | owned(second, topic) == {0, 1}
        ),
        60,
        "the partitions split between the two workers",
    )
    by_partition = {
        p: {s for s in STATIONS if (murmur2(s.encode()) & 0x7FFFFFFF) % 2 == p} for p in (0, 1)
    }

    seen: dict[str, object] = {}

    def exported_by_owner() -> bool:
        a, b = alerting_sites(first), alerting_sites(second)
        mine = {s for p in owned(first, topic) for s in by_partition[p]}
        seen.update(
            first=(owned(first, topic), sorted(a)), second=(owned(second, topic), sorted(b))
        )
        return a == mine and b == set(STATIONS) - mine

    # Nothing new was sent: the second worker exports its sites from their recovered state.
    try:
        wait_until(exported_by_owner, 60, "each station's alert exported by its partition's owner")
    except TimeoutError as e:  # which worker owned and exported what, at the last look
        raise AssertionError(f"{e}: {by_partition=}, (partitions, sites exported) {seen}") from None
    assert not alerting_sites(first) & alerting_sites(second)

    send(settings, window, range(3, 6), pm25=10.0)  # clean air for three hours
    wait_until(
        lambda: not alerting_sites(first) and not alerting_sites(second),
        60,
        "every alert resolved, on both workers",
    )
    resolved = admin_db.execute(
        "SELECT site_id, count(*) FROM alert_history WHERE transition = 'resolved'"
        " AND condition = 'air_aqi_heavy' AND at >= %s AND at < %s GROUP BY site_id",
        (window, window + timedelta(days=1)),
    ).fetchall()
    assert dict(resolved) == dict.fromkeys(STATIONS, 1)
