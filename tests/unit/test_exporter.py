"""What a worker exports about a site is derived from the site's state alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from prometheus_client import CollectorRegistry

from alerts.feeds import air
from alerts.judge import Context, Timing
from alerts.metrics import Metrics
from schemas.feeds import FEEDS
from schemas.feeds.air import AirReading
from schemas.reference import load_reference
from streams.exporter import SiteExporter
from streams.states import StateStore

REFERENCE = load_reference()
STATION = REFERENCE.site("air", "air-yiwu-01")
CONTEXT = Context(Timing(3600, 3600), 1_700_000_000.0)
LABELS = {"site": STATION.id, "county": "yiwu"}


def exporter() -> tuple[SiteExporter, CollectorRegistry]:
    registry = CollectorRegistry()
    return SiteExporter(Metrics(registry).sites, FEEDS), registry


def reading(at: datetime, pm25: float) -> AirReading:
    return AirReading(station_id=STATION.id, ts=at, pm25=pm25)


def test_figures_values_and_firing_alerts_are_exported_from_the_state():
    start = datetime(2025, 12, 1, tzinfo=UTC)
    state, out = air.judge(
        air.AirState(),
        STATION,
        [reading(start + timedelta(hours=h), 120.0 + h) for h in range(3)],
        CONTEXT,
    )
    assert [e.transition for e in out.events if e.condition == "air_aqi_light"] == ["firing"]
    assert state.alerts["air_aqi_light|aqi"].status == "firing"
    made, registry = exporter()
    made.export("air", STATION, state)
    assert registry.get_sample_value("envwatch_air_aqi", LABELS) == 160  # PM2.5 122 -> 160
    alert = LABELS | {
        "condition": "air_aqi_light", "severity": "warning", "parameter": "aqi", "feed": "air"
    }  # fmt: skip
    assert registry.get_sample_value("envwatch_alert_value", alert) == 160
    site = {"feed": "air", "site": STATION.id, "county": "yiwu"}
    assert registry.get_sample_value("envwatch_site_last_received_timestamp_seconds", site) == (
        CONTEXT.now
    )
    assert registry.get_sample_value("envwatch_site_last_seen_timestamp_seconds", site) == (
        (start + timedelta(hours=2)).timestamp()
    )
    made.drop("air", [STATION.id])
    assert registry.get_sample_value("envwatch_alert_value", alert) is None
    assert registry.get_sample_value("envwatch_air_aqi", LABELS) is None


def test_a_reading_no_edition_covers_is_exported_but_not_judged():
    beyond = datetime(2031, 6, 1, tzinfo=UTC)  # no air edition in force yet (phase 2 unset)
    state, out = air.judge(air.AirState(), STATION, [reading(beyond, 40.0)], CONTEXT)
    assert out.events == [] and out.figures == {}
    made, registry = exporter()
    made.export("air", STATION, state)
    assert registry.get_sample_value("envwatch_air_aqi", LABELS) is None
    value = {"feed": "air", "site": STATION.id, "county": "yiwu", "parameter": "pm25_1h"}
    assert registry.get_sample_value("envwatch_reading_value", value) == 40.0


def test_states_reach_the_table_once_per_checkpoint_with_their_partition():
    table = SimpleNamespace(data={})
    store = StateStore(table, air.AirState)
    store.owned = {0, 1}
    start = datetime(2025, 12, 1, tzinfo=UTC)
    state = store.get(STATION.id)
    for h in range(5):  # five batches, one checkpoint
        state, _ = air.judge(state, STATION, [reading(start + timedelta(hours=h), 30.0)], CONTEXT)
        assert store.put(STATION.id, state, 1)
    records = store.checkpoint()
    assert [(key, partition) for key, _, partition in records] == [(STATION.id.encode(), 1)]
    assert store.checkpoint() == []
    assert not store.put("air-other", air.AirState(), 3), "partition 3 is not owned"

    # Another worker taking partition 1 over recovers exactly this state from the table.
    other = StateStore(table, air.AirState)
    (recovered,) = list(other.recover({1}))
    assert recovered == (STATION.id, state)
    assert list(StateStore(table, air.AirState).recover({0})) == []
    assert other.revoke({1}) == [STATION.id]
