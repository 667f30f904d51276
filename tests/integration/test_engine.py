"""A feed engine in process, on the embedded broker and PostgreSQL: the order of its effects
on a batch with rejects, breaches and duplicates, and what each effect left behind."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from alerts.assessment.air import city_aqi
from alerts.metrics import Metrics
from alerts.standards.editions import CST
from schemas.feeds import FEEDS
from schemas.reference import load_reference
from streams.deadletter import decode_headers
from streams.delivery import Delivery, LogReader
from streams.engine import FeedEngine
from streams.kafka_config import aiokafka_config
from streams.sink import ReadingSink
from tests.support.database import refresh_aggregates
from tests.support.engine import Record, engine_in_process
from tests.support.services import read_topic

BREACHING, CLEAN = "air-yiwu-01", "air-lanxi-01"


def reading(station: str, at: datetime, pm25: float) -> dict[str, Any]:
    return {"station_id": station, "ts": at.isoformat(), "pm25": pm25}


def air_engine(
    settings, producer: AIOKafkaProducer, sink: ReadingSink, registry, log: list[str], window
) -> FeedEngine:
    """The air feed's engine on real topics and the database, each effect noted in ``log``
    when done; its clock a day after ``window``."""
    return engine_in_process(
        FEEDS["air"], FEEDS, settings, producer, sink, Metrics(registry), load_reference(), log,
        clock=lambda: window + timedelta(days=1),
    )  # fmt: skip


def test_effects_come_in_the_order_of_the_guarantee(settings, postgres, admin_db, window):
    feed = FEEDS["air"]
    hours = [window + timedelta(hours=h) for h in range(3)]
    batch = [
        [reading(BREACHING, at, 200.0) for at in hours],  # AQI 250 for two hours: fires
        reading(CLEAN, hours[0], 20.0),
        reading(CLEAN, hours[0], 20.0),  # the same reading again: one row, judged once
        reading("air-nowhere-01", hours[0], 20.0),  # not in the register
        b'{"station_id": "air-lanxi-01", "ts": ',  # not JSON
    ]
    raw = [m if isinstance(m, bytes) else orjson.dumps(m) for m in batch]
    records = [Record(settings.topic("air"), 0, n, b"k", value) for n, value in enumerate(raw)]
    log: list[str] = []
    registry = CollectorRegistry()

    async def run() -> tuple[FeedEngine, int, int]:
        producer = AIOKafkaProducer(**aiokafka_config(settings))
        await producer.start()
        sink = ReadingSink(settings.database_url.get_secret_value(), feed)
        try:
            engine = air_engine(settings, producer, sink, registry, log, window)
            first = await engine.handle(records)
            again = await engine.handle(records)  # the whole batch delivered twice
            log.append("checkpoint")
            delivery = Delivery(LogReader(settings), engine.metrics)  # nothing to commit here
            assert await engine.checkpoint(delivery, None, 5.0)
            await delivery.reader.stop()
            return engine, first, again
        finally:
            await sink.close()
            await producer.stop()

    engine, first, again = asyncio.run(run())

    # The order: dead letters sent, rows stored, transitions sent, then state kept and
    # exported; the second delivery of the batch repeats it without any new transition. The
    # checkpoint waits for every confirmation, then changelogs the states (and its record).
    sends = [e for e in log if not e.endswith("confirmed")]
    one_batch = ["dead_letter", "dead_letter", "rows", "alert_event", "alert_event"]
    one_batch += ["state", "export", "state", "export"]
    again_ = ["dead_letter", "dead_letter", "rows", "state", "export", "state", "export"]
    assert sends == [*one_batch, *again_, "checkpoint", "changelog", "changelog", "changelog"]
    confirmed = [i for i, e in enumerate(log) if e.endswith("confirmed")]
    changelog = log.index("changelog")
    assert len([i for i in confirmed if i < changelog]) == 6  # 4 dead letters, 2 transitions
    assert all(log[i].startswith("changelog") for i in confirmed if i > changelog)

    assert (first, again) == (4, 0)  # 3 + 1 rows, then all of them duplicates
    dead = read_topic(settings, settings.topic("deadletter"), 4)
    codes = [decode_headers(d.headers)["code"] for d in dead]
    assert codes == ["unknown_site", "malformed_json"] * 2
    events = [orjson.loads(e.value) for e in read_topic(settings, settings.topic("alerts"), 2)]
    assert {(e["site"], e["condition"], e["transition"]) for e in events} == {
        (BREACHING, "air_aqi_light", "firing"),
        (BREACHING, "air_aqi_heavy", "firing"),
    }
    history = admin_db.execute(
        "SELECT condition, transition FROM alert_history WHERE site_id = %s"
        " AND at >= %s AND at < %s",
        (BREACHING, window, window + timedelta(days=10)),  # this test's window (conftest)
    ).fetchall()
    assert sorted(history) == [("air_aqi_heavy", "firing"), ("air_aqi_light", "firing")]
    state = engine.store.get(BREACHING)
    assert state.alerts["air_aqi_heavy|aqi"].status == "firing"
    assert (
        registry.get_sample_value("envwatch_rows_duplicate_total", {"feed": "air"}) == 1 + 5
    )  # the repeat inside the first batch, then the whole second delivery
    assert registry.get_sample_value(
        "envwatch_alert_value",
        {"condition": "air_aqi_heavy", "severity": "critical", "county": "yiwu",
         "site": BREACHING, "parameter": "aqi", "feed": "air"},
    ) == 250  # fmt: skip


def test_a_corrected_day_replaces_the_stored_one_and_a_conflict_is_dead_lettered_after_it(
    settings, postgres, admin_db, window
):
    """A station's PM2.5 day (local hours 01:00-24:00) stored as preliminary data, a bad day;
    re-sent readings of it (identical, conflicting, complementary) beside a new one; then the
    audited day, a good one, delivered again at other offsets and replayed from its own."""
    station, start = BREACHING, window - timedelta(hours=8)  # local midnight
    hours = [start + timedelta(hours=h) for h in range(1, 25)]

    def message(*readings: dict[str, Any]) -> bytes:
        return orjson.dumps(list(readings))

    preliminary = message(*(reading(station, at, 90.0) for at in hours))
    conflicting = reading(station, hours[2], 60.0)
    resent = message(
        reading(station, hours[3], 90.0),  # identical: a silent duplicate
        conflicting,  # another value: dead-lettered
        reading(station, hours[4], 90.0) | {"o3": 40.0},  # adds O3: filled
        reading(station, start + timedelta(hours=25), 20.0),  # the next day's first hour
    )
    audited = message(*(reading(station, at, 30.0) | {"status": "audited"} for at in hours))
    topic = settings.topic("air")
    batches = [
        [Record(topic, 0, 0, station.encode(), preliminary)],
        [Record(topic, 0, 1, station.encode(), resent)],
        [Record(topic, 0, 2, station.encode(), audited)],
        [Record(topic, 0, 3, station.encode(), audited)],  # sent again
        [Record(topic, 0, n, station.encode(), v) for n, v in enumerate([preliminary, resent])],
    ]
    log: list[str] = []
    registry = CollectorRegistry()

    async def run() -> list[int]:
        producer = AIOKafkaProducer(**aiokafka_config(settings))
        await producer.start()
        sink = ReadingSink(settings.database_url.get_secret_value(), FEEDS["air"])
        try:
            engine = air_engine(settings, producer, sink, registry, log, window)
            stored = []
            for batch in batches:
                stored.append(await engine.handle(batch))
                log.append("batch")
            await asyncio.gather(*engine.unconfirmed)
            return stored
        finally:
            await sink.close()
            await producer.stop()

    assert asyncio.run(run()) == [24, 1, 0, 0, 0]

    def metric(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, {"feed": "air", **labels})

    assert metric("envwatch_readings_revised_total") == 24
    assert metric("envwatch_readings_filled_total") == 1
    # Of the re-sent message one, of the audited day sent again 24, and the whole replay: its
    # offsets come before the revision's, so even its conflict is not dead-lettered again.
    assert metric("envwatch_rows_duplicate_total") == 1 + 24 + 24 + 4
    assert metric("envwatch_dead_letters_total", reason="conflicting_duplicate") == 1

    rows = admin_db.execute(
        "SELECT ts, pm25, o3, status FROM air_readings WHERE site_id = %s AND ts > %s"
        " AND ts <= %s ORDER BY ts",
        (station, start, start + timedelta(days=1)),
    ).fetchall()
    assert rows == [(at, 30.0, None, "audited") for at in hours]  # replaced whole
    kept = admin_db.execute(
        "SELECT ts, pm25_old, o3_old, pm25_new, source_topic, source_partition, source_offset"
        " FROM air_revisions WHERE site_id = %s AND ts > %s AND ts <= %s ORDER BY ts",
        (station, start, start + timedelta(days=1)),
    ).fetchall()
    assert kept == [(at, 90.0, 40.0 if at == hours[4] else None, 30.0, topic, 0, 2) for at in hours]

    # The conflict went out after its batch was stored, with its own bytes and its reason.
    second = log[log.index("batch") + 1 : log.index("batch", log.index("batch") + 1)]
    sends = [e for e in second if not e.endswith("confirmed")]
    assert sends.index("rows") < sends.index("dead_letter")
    (dead,) = read_topic(settings, settings.topic("deadletter"), 1)
    headers = decode_headers(dead.headers)
    assert orjson.loads(dead.value) == conflicting
    assert (headers["code"], headers["topic"], headers["partition"], headers["offset"]) == (
        "conflicting_duplicate",
        topic,
        "0",
        "1",
    )
    assert "pm25 stored 90.0, this reading 60.0" in headers["reason"]

    # The city engine hears of the day once: closed by the next day's hour, then revised.
    summaries = [
        orjson.loads(s.value) for s in read_topic(settings, settings.topic("summaries"), 2)
    ]
    day = start.astimezone(CST).date()
    assert [(s["kind"], s.get("day"), s.get("days")) for s in summaries] == [
        ("air_day", day.isoformat(), None),
        ("revised", None, [day.isoformat(), (day + timedelta(days=1)).isoformat()]),
    ]
    assert summaries[1]["site"] == station and summaries[1]["feed"] == "air"

    # A bad day turned good: the real-time day's AQI (what its summary told the city) against
    # the audited day's, recomputed from the daily aggregate of the stored rows, both by the
    # city's rule and the day's edition (HJ 633-2012: 118.75 and 42.86, rounded up).
    refresh_aggregates(admin_db, start, start + timedelta(days=2))
    mean, n = admin_db.execute(
        "SELECT pm25_avg, pm25_n FROM air_daily WHERE site_id = %s AND period = '1h'"
        " AND bucket = %s",
        (station, start),
    ).fetchone()
    assert (summaries[0]["means"]["pm25_24h"], mean, n) == (90.0, 30.0, 23)  # 24:00 is the next
    audited_day = {"pm25_24h": mean}  # one station: the city's day is its day
    assert (city_aqi(summaries[0]["means"], day), city_aqi(audited_day, day)) == (
        119,  # a bad day (AQI above 100)
        43,  # a good one
    )
