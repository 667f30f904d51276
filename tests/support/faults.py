"""Helpers of the reliability suite: load, counting, and monitoring with test-sized waits.

The monitoring here is tests/support/monitoring.py with what a fault test must also change:
several scrape targets (two workers), shorter ``for:`` durations of chosen rules (a copy of the
shipped rule files; the shipped files are untouched), a faster heartbeat route, and extra
Prometheus flags. Everything else is the shipped configuration.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

from streams.settings import Settings
from tests.support.monitoring import Alertmanager, Webhook
from tests.support.services import producer, wait_until

# Reading time of the reliability tests: years no other test uses (their `window` starts in
# 2024) and inside the 2012 standards editions (2016-01-01 on), so readings are judged.
_ERA0 = datetime(2016, 3, 1, tzinfo=UTC)
_eras = itertools.count()


def era() -> datetime:
    """A start time of its own for each test: 300 days apart, 2016-2023."""
    return _ERA0 + timedelta(days=300 * next(_eras))


# The stations of the fault tests. The breaching ones sit near 200 µg/m³ of PM2.5 (AQI about
# 250, AirAqiHeavy, critical), the others near 30. The breaching ones are in different
# counties, so no haze episode folds them into one county-wide alert.
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


def pm25_series(base: float, hour: int) -> float:
    """Varies hour to hour so that no sensor-fault check (flat line, spike) fires."""
    return base + (hour * 7) % 11


@dataclass(frozen=True)
class Message:
    key: bytes
    value: bytes
    readings: int


def air_batches(
    stations: Sequence[str],
    start: datetime,
    hours: range,
    base: Callable[[str], float],
    batch: int = 100,
) -> list[Message]:
    """Hourly PM2.5 readings of each station, a batch message per ``batch`` hours, interleaved
    across stations in time order (as agencies send them)."""
    per_station: list[list[Message]] = []
    for station in stations:
        messages = []
        for first in range(hours.start, hours.stop, batch):
            chunk = range(first, min(first + batch, hours.stop))
            readings = [
                {
                    "station_id": station,
                    "ts": (start + timedelta(hours=h)).isoformat(),
                    "pm25": pm25_series(base(station), h),
                }
                for h in chunk
            ]
            messages.append(Message(station.encode(), orjson.dumps(readings), len(readings)))
        per_station.append(messages)
    return [m for group in itertools.zip_longest(*per_station) for m in group if m is not None]


def send(settings: Settings, topic: str, messages: Iterable[Message]) -> int:
    """Send, and wait for the broker to confirm each message; returns the readings sent.

    A send the broker refuses fails here, loudly: "sent" counts only what the broker holds.
    """
    out = producer(settings)
    pending = []
    try:
        for m in messages:
            pending.append((out.send(settings.topic(topic), key=m.key, value=m.value), m))
        out.flush()
        return sum(m.readings for future, m in pending if future.get(timeout=60))
    finally:
        out.close()


def stored(db: psycopg.Connection, sites: Sequence[str], start: datetime, end: datetime) -> int:
    """Air readings of these sites in [start, end): a row each."""
    row = db.execute(
        "SELECT count(*) FROM air_readings WHERE site_id = ANY(%s) AND ts >= %s AND ts < %s",
        (list(sites), start, end),
    ).fetchone()
    assert row is not None
    return int(row[0])


def distinct_readings(
    db: psycopg.Connection, sites: Sequence[str], start: datetime, end: datetime
) -> int:
    row = db.execute(
        "SELECT count(DISTINCT (site_id, ts, period)) FROM air_readings "
        "WHERE site_id = ANY(%s) AND ts >= %s AND ts < %s",
        (list(sites), start, end),
    ).fetchone()
    assert row is not None
    return int(row[0])


def firing_sites(webhook: Webhook, alertname: str) -> list[str]:
    """Site of every alert in every firing notification of a rule, in arrival order."""
    return [
        alert["labels"].get("site", "")
        for body in webhook.notifications(alertname)
        if body["status"] == "firing"
        for alert in body["alerts"]
        if alert["status"] == "firing"
    ]


def heartbeats(webhook: Webhook) -> int:
    return sum(1 for _, body in webhook.received if body.get("receiver") == "heartbeat")


@dataclass
class FastAlertmanager(Alertmanager):
    """The shipped routing with the test waits, and the heartbeat repeated every 2 s."""

    heartbeat_every: str = "2s"

    def start(self) -> FastAlertmanager:
        super().start()
        config = self.workdir / "alertmanager.yml"
        text = config.read_text(encoding="utf-8")
        # The Watchdog route's repeat_interval is the line after its group_interval.
        text = re.sub(
            r"(receiver: heartbeat\n(?:\s+\w+: \S+\n)*?\s+repeat_interval: )\S+",
            rf"\g<1>{self.heartbeat_every}",
            text,
        )
        config.write_text(text, encoding="utf-8")
        self.process.send_signal(1)  # SIGHUP: reload the configuration
        wait_until(self._reloaded, 10, "Alertmanager to reload its configuration")
        return self

    def _reloaded(self) -> bool:
        return f"repeat_interval: {self.heartbeat_every}" in self.status()["config"]["original"]


def am_alerts(am: Alertmanager, alertname: str) -> list[dict[str, Any]]:
    """Alerts Alertmanager holds now for a rule (active, suppressed or not)."""
    from urllib.parse import quote

    from tests.support.monitoring import get_json

    url = f"http://127.0.0.1:{am.port}/api/v2/alerts?filter={quote(f'alertname={alertname}')}"
    return get_json(url)


def tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""
