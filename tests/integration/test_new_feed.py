"""A feed of the tests' own, added through the registry alone (its contract and judgement
modules in tests/support/noise, its register file), is decoded, stored, judged and exported
by the same engine as the city's feeds, on the embedded broker and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import shutil
from datetime import timedelta
from pathlib import Path

import orjson
import psycopg
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from alerts import conditions
from alerts.metrics import Metrics
from schemas.feeds import FEEDS
from schemas.migrate import migrate
from schemas.reference import DEFAULT_DIR, load_reference
from streams.deadletter import decode_headers
from streams.engine import FeedEngine
from streams.kafka_config import aiokafka_config
from streams.sink import ReadingSink
from tests.support.database import own_database
from tests.support.engine import Record, engine_in_process
from tests.support.noise.contract import FEED as NOISE
from tests.support.noise.judgement import CONDITION
from tests.support.services import read_topic

REGISTRY = {**FEEDS, NOISE.name: NOISE}
METER = "nm-yiwu-01"


@pytest.fixture
def register(tmp_path: Path) -> Path:
    """The shipped register, and the new feed's own file beside it."""
    folder = tmp_path / "register"
    shutil.copytree(DEFAULT_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with (folder / NOISE.register).open("w", encoding="utf-8", newline="") as out:
        rows = csv.writer(out)
        rows.writerow(["id", "name_zh", "county", "lat", "lon", "limit_db", "interval_s", "sample"])
        rows.writerow([METER, "义乌稠州路", "yiwu", 29.31, 120.07, 70, 3600, "true"])
    return folder


@pytest.fixture
def noise_condition(monkeypatch: pytest.MonkeyPatch) -> None:
    """The new feed's alert condition, beside the shipped ones."""
    monkeypatch.setitem(conditions.CONDITIONS, CONDITION, conditions.Condition("warning"))
    monkeypatch.setitem(conditions.SEVERITY, CONDITION, "warning")


def test_a_feed_added_through_the_registry_is_stored_judged_and_exported(
    settings, postgres, register, noise_condition, window
):
    hours = [window + timedelta(hours=h) for h in range(1, 4)]
    levels = zip(hours, (62.0, 78.5, 64.0), strict=True)
    sent = [
        [{"meter_id": METER, "ts": at.isoformat(), "leq": leq} for at, leq in levels],
        {"meter_id": METER, "ts": hours[0].isoformat(), "leq": 200},  # beyond its range
        {"meter_id": "nm-nowhere", "ts": hours[0].isoformat(), "leq": 50},  # not registered
    ]
    records = [
        Record(settings.topic("noise"), 0, n, METER.encode(), orjson.dumps(m))
        for n, m in enumerate(sent)
    ]
    reference = load_reference(register, REGISTRY)
    registry = CollectorRegistry()

    with own_database(postgres.url(), "newfeed") as url:
        migrate(url, REGISTRY.values())  # the feed's table and aggregates, from its entry

        async def run() -> FeedEngine:
            producer = AIOKafkaProducer(**aiokafka_config(settings))
            await producer.start()
            sink = ReadingSink(url, NOISE)
            log: list[str] = []

            try:
                metrics = Metrics(registry, REGISTRY)
                engine = engine_in_process(
                    NOISE, REGISTRY, settings, producer, sink, metrics, reference, log,
                    clock=lambda: window + timedelta(days=1),
                )  # fmt: skip
                assert await engine.handle(records) == 3
                await asyncio.gather(*engine.unconfirmed)
                return engine
            finally:
                await sink.close()
                await producer.stop()

        asyncio.run(run())
        with psycopg.connect(url) as db:
            stored = db.execute(
                "SELECT ts, leq FROM noise_readings WHERE site_id = %s ORDER BY ts", (METER,)
            ).fetchall()
            history = db.execute(
                "SELECT transition, value FROM alert_history WHERE condition = %s ORDER BY at",
                (CONDITION,),
            ).fetchall()
            hourly = db.execute(
                "SELECT count(*), max(leq_max) FROM noise_hourly WHERE site_id = %s", (METER,)
            ).fetchone()

    assert [leq for _, leq in stored] == [62.0, 78.5, 64.0]
    assert history == [("firing", 78.5), ("resolved", 64.0)]
    assert hourly == (3, 78.5)
    site = {"site": METER, "county": "yiwu"}
    assert registry.get_sample_value("envwatch_noise_leq", site) == 64.0
    assert registry.get_sample_value(
        "envwatch_reading_value", site | {"feed": "noise", "parameter": "leq"}
    ) == 64.0  # fmt: skip
    events = [orjson.loads(e.value) for e in read_topic(settings, settings.topic("alerts"), 2)]
    assert [(e["feed"], e["condition"], e["transition"]) for e in events] == [
        ("noise", CONDITION, "firing"),
        ("noise", CONDITION, "resolved"),
    ]
    dead = read_topic(settings, settings.topic("deadletter"), 2)
    assert sorted(decode_headers(d.headers)["code"] for d in dead) == [
        "out_of_range",
        "unknown_site",
    ]
