"""The city agent's tracker: state carried between batches, through the table it writes."""

from __future__ import annotations

import msgspec
from prometheus_client import CollectorRegistry

from alerts.city import CityState, add_section_class
from alerts.metrics import Metrics
from alerts.targets import load_targets
from streams.agents.targets import KEY, TargetTracker


def section(site: str, water_class: int, level: str = "national") -> dict[str, object]:
    return {"kind": "section_class", "site": site, "level": level, "class": water_class}


def sections_in(table: dict[bytes, bytes]) -> dict[str, tuple[str, int]]:
    return msgspec.msgpack.decode(table[KEY], type=CityState).sections


def tracker(table: dict[bytes, bytes]) -> tuple[TargetTracker, CollectorRegistry]:
    registry = CollectorRegistry()
    return TargetTracker(table, load_targets(), Metrics(registry), 10), registry


def test_batches_accumulate_in_the_table():
    table: dict[bytes, bytes] = {}
    t, _ = tracker(table)
    t.apply([section("w1", 2)])
    t.apply([section("w2", 3)])
    assert sections_in(table) == {"w1": ("national", 2), "w2": ("national", 3)}


def test_a_state_restored_into_the_table_is_read_not_the_one_remembered():
    # After a rebalance the table holds what the changelog says, not what this tracker wrote.
    table: dict[bytes, bytes] = {}
    t, _ = tracker(table)
    t.apply([section("w1", 2)])
    restored = CityState()
    add_section_class(restored, "w9", "provincial", 4)
    table[KEY] = msgspec.msgpack.encode(restored)
    t.apply([section("w2", 3)])
    assert sections_in(table) == {"w9": ("provincial", 4), "w2": ("national", 3)}


def city_alerts(registry: CollectorRegistry) -> list[object]:
    city = {"site": "city", "feed": "city", "county": "all"}
    return [
        sample
        for family in registry.collect()
        if family.name == "envwatch_alert_value"
        for sample in family.samples
        if city.items() <= sample.labels.items()
    ]


def test_city_alerts_are_exported_and_removed_with_the_state():
    table: dict[bytes, bytes] = {}
    t, registry = tracker(table)
    # All five sections worse than Class III: the Class III share is missed.
    t.apply([section(f"w{i}", 4) for i in range(5)])
    assert city_alerts(registry), "the Class III share alert is exported"
    t.apply([section(f"w{i}", 2) for i in range(5)])
    assert not city_alerts(registry)
