"""The city-wide agent: summaries of all sites in, plan-target progress and alerts out.

It reads the single-partition summaries topic, so exactly one worker holds the city's state
(in its own table) and exports the target series; when that partition moves, so do they.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import faust
import msgspec
import orjson

from alerts.city import STATUS_CODE, CityState, add_air_day, add_section_class, progress
from alerts.judge import AlertEvent, Timing, Verdict, apply_checks
from alerts.metrics import Metrics
from alerts.targets import Targets
from envwatch.settings import Settings
from streams.alert_events import AlertEvents
from streams.delivery import Delivery
from streams.exporter import alert_series
from streams.sink import ReadingSink
from streams.topics import SUMMARIES

KEY = b"city"
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(CityState).decode


class TargetTracker:
    """Applies summaries to the city's state and exports progress; no I/O of its own."""

    def __init__(self, table: Any, targets: Targets, metrics: Metrics, budget_warning: int) -> None:
        self.table = table
        self.targets = targets
        self.metrics = metrics
        self.budget_warning = budget_warning
        # The state as last written, decoded: read back from the table only when the table
        # holds something else (after a restart or a rebalance, from the changelog).
        self._written: tuple[bytes, CityState] | None = None

    def apply(self, summaries: list[dict[str, Any]]) -> list[AlertEvent]:
        stored = self.table.get(KEY)
        if self._written is not None and stored is self._written[0]:
            state = self._written[1]
        else:
            state = _decode(stored) if stored else CityState()
        self._written = None  # changed in place below: not reusable unless this completes
        for s in summaries:
            if s.get("kind") == "air_day":
                add_air_day(state, date.fromisoformat(s["day"]), s["site"], s["means"])
            elif s.get("kind") == "section_class":
                add_section_class(state, s["site"], s["level"], int(s["class"]))
        days = list(state.open_days) + list(state.closed_aqi)
        as_of = date.fromisoformat(max(days)) if days else datetime.now(UTC).date()
        figures, checks = progress(state, as_of, self.targets, self.budget_warning)
        at = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
        verdict = Verdict()
        apply_checks(state, checks, at, "city", "city", "all", Timing(0, 0), verdict)
        encoded = _encode(state)
        self.table[KEY] = encoded
        self._written = (encoded, state)
        m = self.metrics
        for name, figure in figures.items():
            m.target_value.labels(name).set(figure.value)
            m.target_goal.labels(name).set(figure.goal)
            m.target_status.labels(name).set(STATUS_CODE[figure.status])
        m.sites.put(KEY, alert_series("city", "city", "all", verdict.firing))
        return verdict.events


def register_targets(
    app: faust.App,
    settings: Settings,
    tracker_factory: Any,
    sink: ReadingSink,
    alert_events: AlertEvents,
    delivery: Delivery,
) -> None:
    table = app.Table(
        "city-state",
        default=None,
        key_type=bytes,
        value_type=bytes,
        use_partitioner=True,
        partitions=1,
    )
    tracker: TargetTracker = tracker_factory(table)
    topic = app.topic(
        settings.topic(SUMMARIES), key_type=bytes, value_type=bytes, partitions=1, acks=False
    )

    async def targets_agent(stream: faust.StreamT) -> None:
        async for records in delivery.batches(
            stream, settings.batch_max, settings.targets_within_s
        ):
            summaries = []
            for record in records:
                try:
                    summaries.append(orjson.loads(record.value or b""))
                except orjson.JSONDecodeError:
                    continue  # written by this program only; nothing to dead-letter
            transitions = tracker.apply(summaries)
            if transitions:
                await sink.write((), transitions)
                await alert_events.publish(transitions)

    app.agent(topic, name="envwatch.targets")(targets_agent)
