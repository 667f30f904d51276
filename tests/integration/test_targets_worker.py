"""The plan targets of a real worker process, from storage: a worker started after 100 stored
days reports them before any reading arrives, and an audited correction (rows written with
status 'audited', then a Revised summary) moves the ratio and the budget on both bases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from pydantic import SecretStr

from alerts.standards.editions import CST
from alerts.summaries import Revised, encode
from envwatch.embedded import WRITER_ROLE
from envwatch.summary import scrape
from schemas.feeds.air import AirReading
from schemas.migrate import migrate
from schemas.reference import load_reference
from schemas.register_sync import sync_register
from streams.engine import CITY_KEY
from streams.settings import Settings
from streams.topics import SUMMARIES
from tests.support.database import store
from tests.support.services import WorkerProcess, producer, wait_until

YEAR = 2025
FIRST = datetime(YEAR, 1, 1, tzinfo=CST)
DAYS = 100  # 1 January .. 10 April


@pytest.fixture
def stored(scratch_url: str) -> Iterator[str]:
    """A database of this test's own holding 100 days of two stations: every fourth day (from
    1 January) polluted, PM2.5 120 µg/m³ all day (IAQI 160), the others 30 (IAQI 43)."""
    migrate(scratch_url)
    sync_register(scratch_url)
    stations = list(load_reference().sites("air"))[:2]
    readings = [
        AirReading(station_id=s, ts=FIRST + timedelta(days=d, hours=h), pm25=pm25(d))
        for s in stations
        for d in range(DAYS)
        for h in range(1, 25)
    ]
    store(scratch_url, "air", readings)
    yield scratch_url


def pm25(day: int) -> float:
    return 120.0 if day % 4 == 0 else 30.0


@pytest.fixture
def city_settings(settings: Settings, stored: str) -> Settings:
    writer = make_conninfo(stored, user=WRITER_ROLE)
    return settings.model_copy(
        update={"database_url": SecretStr(writer), "database_admin_url": SecretStr(stored)}
    )


def target(worker: WorkerProcess, name: str, basis: str) -> float | None:
    samples = [
        v
        for labels, v in _samples(worker, "envwatch_target_value").items()
        if {("target", name), ("basis", basis), ("scope", "city")} <= set(labels)
    ]
    return samples[0] if samples else None


def _samples(worker: WorkerProcess, name: str) -> dict:
    return scrape(worker.metrics_url).get(name, {})


def test_a_worker_started_after_100_stored_days_reports_them_before_any_reading(
    city_settings: Settings, start_worker: Callable[..., WorkerProcess]
) -> None:
    worker = start_worker(city_settings)
    ratio = wait_until(
        lambda: target(worker, "aqi_good_day_ratio", "realtime"), 60, "the good-day ratio"
    )
    # 25 polluted days of 100 (days 0, 4, ..., 96): 75 good, 0.75. On 10 April 265 days are
    # left: (75 + 265 - b) / 365 >= 0.85 holds up to b = 29.75, so 29 more bad days.
    assert ratio == 0.75
    assert target(worker, "bad_day_budget", "realtime") == 29
    assert worker.metric("envwatch_readings_consumed_total") == 0  # nothing was sent
    assert target(worker, "aqi_good_day_ratio", "audited") is None  # nothing audited yet


def test_an_audited_correction_turns_a_bad_day_good_on_both_bases(
    city_settings: Settings, stored: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    worker = start_worker(city_settings)
    wait_until(lambda: target(worker, "aqi_good_day_ratio", "realtime"), 60, "the ratio")
    stations = list(load_reference().sites("air"))[:2]
    days = [(FIRST + timedelta(days=d)).date().isoformat() for d in range(DAYS)]
    with psycopg.connect(stored, autocommit=True) as db:
        # Every day audited as sent.
        db.execute("UPDATE air_readings SET status = 'audited'")
    revise(city_settings, stations, days)
    wait_until(lambda: target(worker, "aqi_good_day_ratio", "audited") == 0.75, 60, "audited")
    assert target(worker, "bad_day_budget", "audited") == 29

    # 1 January corrected: PM2.5 30 all day at both stations, a good day.
    with psycopg.connect(stored, autocommit=True) as db:
        db.execute(
            "UPDATE air_readings SET pm25 = 30 WHERE ts > %s AND ts <= %s",
            (FIRST, FIRST + timedelta(days=1)),
        )
    revise(city_settings, stations, days[:1])
    # 76 good of 100: 0.76; (76 + 265 - b) / 365 >= 0.85 up to b = 30.75: 30.
    wait_until(lambda: target(worker, "aqi_good_day_ratio", "audited") == 0.76, 60, "corrected")
    for basis in ("audited", "realtime"):
        assert target(worker, "aqi_good_day_ratio", basis) == 0.76
        assert target(worker, "bad_day_budget", basis) == 30


def revise(settings: Settings, stations: list[str], days: list[str]) -> None:
    """The summaries the audited path sends once it has replaced stored readings."""
    send = producer(settings)
    for station in stations:
        summary = Revised(feed="air", site=station, days=days)
        send.send(settings.topic(SUMMARIES), encode(summary), key=CITY_KEY)
    send.flush()
    send.close()
