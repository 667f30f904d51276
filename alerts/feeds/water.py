"""The water feed's judgement: a section's samples, in order, against GB 3838-2002. Pure.

Each sample is classed by the national single-factor method (the worst class of the items
the method evaluates for a river or a lake) and judged against the section's target class;
a class worse than its target, at Class V or worse, or at a drinking-water source raises an
alert at once. Flat-lining instruments are caught on the items sampled most often.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from functools import cache
from operator import attrgetter
from typing import NamedTuple

import msgspec

from alerts import sensors
from alerts.judge import Alerts, Context, Outcome, SiteState, key, newer, start
from alerts.standards import ReadingError, water_class
from alerts.standards.editions import NoEditionError, in_force
from alerts.summaries import SectionClass
from alerts.validity import invalid, service
from schemas.feeds import FEEDS
from schemas.feeds.water import Section, WaterReading

# Every measured item but the water temperature, which is not a class limit (wire names).
ITEMS = tuple(q for q in FEEDS["water"].quantities if q.attr != "temp")
VALUES = attrgetter(*(q.attr for q in ITEMS))
WIRE = tuple(q.wire for q in ITEMS)
SENSED = ("ph", "do", "nh3n", "codmn", "tp")  # sampled most often; checked for flat lines
SENSOR_KEYS = sensors.keys_of(SENSED)
CONDITIONS = ("water_above_target", "water_class_v", "water_drinking_source")


class WaterState(SiteState, kw_only=True, omit_defaults=True):
    recent: dict[str, sensors.Recent] = msgspec.field(default_factory=dict)
    last_class: int = 0  # class of the latest sample (what the city-wide targets have)


State = WaterState
VALUE_NAMES = (*WIRE, "temp")  # the latest values it exports
FIGURES = {"class": "Class 1-6 of a section's latest sample (6: worse than V)"}
FIGURE_LABELS = ("control_level",)


def figure_labels(site: Section) -> tuple[str, ...]:
    return (site.control_level,)


class Classes(NamedTuple):
    """One edition's class lookups for one kind of water body."""

    edition: str
    evaluated: tuple[str, ...]  # the items that decide the class, in the method's order
    seen: dict[tuple[str, float], int]


@cache
def classes(edition_id: str, waterbody: str) -> Classes:
    return Classes(edition_id, water_class.evaluated(waterbody, edition_id), {})  # type: ignore[arg-type]


def _class(lookup: Classes, waterbody: str, item: str, value: float) -> int:
    found = lookup.seen.get((item, value))
    if found is None:
        if len(lookup.seen) > 1 << 16:
            lookup.seen.clear()
        found = water_class.parameter_class(item, value, waterbody, lookup.edition)  # type: ignore[arg-type]
        lookup.seen[(item, value)] = found
    return found


def sample_class(
    values: Mapping[str, float], waterbody: str, edition_id: str
) -> tuple[int, str] | None:
    """(class, the first controlling item) of one sample; None when nothing it carries decides
    a class (the single-factor method of ``alerts.standards.water_class``, remembered)."""
    lookup = classes(edition_id, waterbody)
    by_item = {item: _class(lookup, waterbody, item, v) for item, v in values.items()}
    worst, controlling = 0, ""
    for item in lookup.evaluated:
        found = by_item.get(item, 0)
        if found > worst:
            worst, controlling = found, item
    return (worst, controlling) if worst else None


@cache
def _edition_on(day: int) -> str | None:
    try:
        return in_force("water", date(1970, 1, 1) + timedelta(days=day)).id
    except NoEditionError:
        return None


_TS = attrgetter("ts")


def judge(
    state: WaterState, section: Section, readings: Sequence[WaterReading], context: Context
) -> tuple[WaterState, Outcome]:
    out, alerts = start(state, "water", section.id, section.county, context)
    for reading, stamp in newer(state, readings, _TS, out):
        bad = invalid(reading.flags)  # values flagged invalid count as missing
        values = {
            w: v
            for w, v in zip(WIRE, VALUES(reading), strict=True)
            if v is not None and w not in bad
        }
        state.values.update(values)
        if reading.temp is not None and "temp" not in bad:
            state.values["temp"] = reading.temp
        edition = _edition_on(int((stamp + 28800) // 86400))
        if edition is None:
            continue
        try:
            sample = sample_class(values, section.waterbody, edition)
        except ReadingError:
            sample = None
        alerts.reading(reading.ts, stamp, "" if sample is None else edition)
        for item in SENSED:
            if item in values:
                sensors.judge(alerts, state.recent, item, values[item], SENSOR_KEYS[item])
        service(alerts, reading.flags, values, stamp)
        if sample is None:
            continue
        worst, controlling = sample
        out.figures["class"] = worst
        if worst != state.last_class:
            state.last_class = worst
            out.summaries.append(
                SectionClass(site=section.id, level=section.control_level, water_class=worst)
            )
        _class_checks(alerts, section, worst, controlling)
    state.figures.update(out.figures)
    return state, out


def _class_checks(alerts: Alerts, section: Section, worst: int, controlling: str) -> None:
    """A section's class is one alert per condition, named by the item that controlled the
    class when it began. Later samples are judged onto that alert whichever item controls
    them, so it resolves when the class recovers (a clean sample controlled by another item
    would otherwise leave it firing) and is not paged twice."""
    began = {k.split("|", 1)[0]: k for k in alerts.alerts}
    target = section.target_class
    limits = [("water_above_target", target), ("water_class_v", 4)]
    if section.drinking_source:
        limits.append(("water_drinking_source", target))
    for condition, limit in limits:
        alert_key = began.get(condition) or key(condition, controlling)
        alerts.above(alert_key, worst, limit, limit, sustain=False)
