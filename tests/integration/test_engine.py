"""A feed engine in process, on the embedded broker and PostgreSQL: the order of its effects
on a batch with rejects, breaches and duplicates, and what each effect left behind."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from alerts.feeds import judgement
from alerts.judge import Timing
from alerts.metrics import Metrics
from schemas.decode import FeedDecoder, Rules
from schemas.feeds import FEEDS
from schemas.reference import load_reference
from streams.alert_events import AlertEvents
from streams.deadletter import DeadLetters, decode_headers
from streams.delivery import Delivery, LogReader
from streams.engine import FeedEngine
from streams.exporter import SiteExporter
from streams.kafka_config import aiokafka_config
from streams.sink import ReadingSink
from streams.states import StateStore
from tests.support.engine import Logged, ProducerTopic, Record
from tests.support.services import read_topic

BREACHING, CLEAN = "air-yiwu-01", "air-lanxi-01"


def reading(station: str, at: datetime, pm25: float) -> dict[str, Any]:
    return {"station_id": station, "ts": at.isoformat(), "pm25": pm25}


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
            metrics = Metrics(registry)

            def topic(name: str, label: str) -> ProducerTopic:
                return ProducerTopic(producer, settings.topic(name), log, label)

            store = StateStore(
                SimpleNamespace(data={}, changelog_topic=topic("air-changelog", "changelog")),
                judgement(feed).State,
            )
            store.owned = {0}
            reference = load_reference()
            engine = FeedEngine(
                feed=feed,
                topic=settings.topic("air"),
                judgement=judgement(feed),
                decoder=FeedDecoder(feed, Rules(known_sites=reference.sites("air"))),
                sites=reference.sites("air"),
                store=Logged(store, log, put="state"),  # type: ignore[arg-type]
                sink=Logged(sink, log, write="rows"),  # type: ignore[arg-type]
                dead_letters=DeadLetters(topic("deadletter", "dead_letter")),
                alert_events=AlertEvents(topic("alerts", "alert_event")),
                summaries=topic("summaries", "summary"),
                metrics=metrics,
                exporter=Logged(  # type: ignore[arg-type]
                    SiteExporter(metrics.sites, FEEDS), log, export="export"
                ),
                timing=Timing(3600, 3600),
                clock=lambda: window + timedelta(days=1),
            )
            first = await engine.handle(records)
            again = await engine.handle(records)  # the whole batch delivered twice
            log.append("checkpoint")
            delivery = Delivery(LogReader(settings), metrics)  # nothing of its to commit here
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
