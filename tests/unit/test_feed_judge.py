"""A feed's batch judgement: state once per site, summaries, and no crash on the unjudgeable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from prometheus_client import CollectorRegistry

from alerts.judge import SiteState, Timing
from alerts.metrics import Metrics
from schemas.feeds.air import AirReading
from schemas.reference import load_reference
from streams.agents import air
from streams.exporter import SiteExporter
from streams.judging import FeedJudge

REFERENCE = load_reference()
STATION = "air-yiwu-01"


class Table(dict):
    """The judge uses a Faust table only as a mapping of site key to stored state."""


def judge() -> tuple[FeedJudge, Table, CollectorRegistry]:
    registry = CollectorRegistry()
    table = Table()
    made = FeedJudge(
        air.SPEC, REFERENCE.sites("air"), table, Timing(3600, 3600), SiteExporter(Metrics(registry))
    )
    return made, table, registry


def reading(at: datetime, pm25: float) -> AirReading:
    return AirReading(station_id=STATION, ts=at, pm25=pm25)


def test_one_state_record_per_site_and_the_figures_exported():
    feed_judge, table, registry = judge()
    start = datetime(2025, 12, 1, tzinfo=UTC)
    batch = [(reading(start + timedelta(hours=h), 120.0 + h), 0) for h in range(3)]
    judged = feed_judge(batch)
    assert [e.transition for e in judged.events if e.condition == "air_aqi_light"] == ["firing"]
    state = msgspec.msgpack.decode(table[STATION.encode()], type=SiteState)
    assert state.alerts["air_aqi_light|aqi"].status == "firing"
    labels = {"site": STATION, "county": "yiwu"}
    assert registry.get_sample_value("envwatch_air_aqi", labels) == 160  # PM2.5 122 -> 160
    alert = labels | {
        "condition": "air_aqi_light",
        "severity": "warning",
        "parameter": "aqi",
        "feed": "air",
    }
    assert registry.get_sample_value("envwatch_alert_value", alert) == 160


def test_a_reading_no_edition_covers_is_stored_unjudged_not_a_crash():
    feed_judge, _, registry = judge()
    beyond = datetime(2031, 6, 1, tzinfo=UTC)  # no air edition in force yet (phase 2 unset)
    judged = feed_judge([(reading(beyond, 40.0), 0)])
    assert judged.events == []
    assert (
        registry.get_sample_value("envwatch_air_aqi", {"site": STATION, "county": "yiwu"}) is None
    )
    assert (
        registry.get_sample_value(
            "envwatch_reading_value",
            {"feed": "air", "site": STATION, "county": "yiwu", "parameter": "pm25_1h"},
        )
        == 40.0
    )
