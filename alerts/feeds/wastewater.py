"""The wastewater feed's judgement: a plant's effluent, by local day, against GB 18918-2002. Pure.

Table 1's limits are daily means, so each sample's valid values (flagged ones count as
missing) are added to the plant's local day, China Standard Time; a sample of a later day
closes the day into its daily means, judged by ``alerts.standards.discharge``: the grade the
day meets and the items over the plant's required grade, NH3-N against its cold-water limit
when the day's mean water temperature is at or below 12 °C, TP by the plant's build date. A
closed day raises or ends two alerts at once, one per condition like the water classes: over
the plant's required grade, and over the loosest grade of the table (1B); and the grade it
met goes to the city's share of plants meeting Grade 1A. Flat-lining online analysers are
caught sample by sample.

Exact: a day's values are summed in thousandths (an exact rational keeps values with more
decimals), so a daily mean on a limit compares as on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import cache
from operator import attrgetter
from typing import NamedTuple

import msgspec

from alerts import sensors
from alerts.judge import Alerts, Context, Outcome, SiteState, key, newer, start
from alerts.standards import ReadingError, discharge, exact, thousandths
from alerts.standards.editions import CST, NoEditionError, in_force
from alerts.validity import invalid, service, valid_values
from schemas.feeds import FEEDS
from schemas.feeds.wastewater import Plant, WastewaterReading

QUANTITIES = FEEDS["wastewater"].quantities
WIRE = tuple(q.wire for q in QUANTITIES)
VALUES = attrgetter(*(q.attr for q in QUANTITIES))
SENSED = ("cod", "nh3n", "tp", "tn", "ph")  # the online analysers; checked for flat lines
SENSOR_KEYS = sensors.keys_of(SENSED)
OVER_GRADE, OVER_LOOSEST = "wastewater_over_grade", "wastewater_over_1b"
DAY = 86400
OFFSET = 8 * 3600  # China Standard Time


class Sum(msgspec.Struct, array_like=True):
    """One quantity's valid values of a day: their sum in thousandths, and those with more
    decimals kept as sent."""

    total: int = 0
    n: int = 0
    inexact: list[float] = []

    def add(self, value: float) -> None:
        scaled = thousandths(value)
        if scaled is None:
            self.inexact.append(value)
        else:
            self.total += scaled
        self.n += 1

    def mean(self) -> Fraction:
        extra = sum((exact("value", v) for v in self.inexact), Fraction(0))
        return (Fraction(self.total, 1000) + extra) / self.n


class WastewaterState(SiteState, kw_only=True, omit_defaults=True):
    recent: dict[str, sensors.Recent] = msgspec.field(default_factory=dict)
    day: int = 0  # the local day being collected, in days since 1970-01-01 (0: none yet)
    today: dict[str, Sum] = msgspec.field(default_factory=dict)  # by wire name


State = WastewaterState
VALUE_NAMES = (*WIRE, *(f"{w}_24h" for w in WIRE))  # latest samples, last closed day's means
FIGURES = {
    "grade": "GB 18918 grade a plant's last closed day met: 1 Grade 1A, 2 Grade 1B, 3 neither",
    "items_over": "Table 1 items over a plant's required grade on its last closed day",
}
FIGURE_LABELS = ("required_grade",)


def figure_labels(site: Plant) -> tuple[str, ...]:
    return (site.required_grade,)


class Rules(NamedTuple):
    """The edition of Table 1 in force on one local day, looked up once for the day."""

    edition: str
    items: tuple[str, ...]  # the items it limits that the feed carries
    grades: tuple[str, ...]  # strictest first


@cache
def rules_of(local_day: int) -> Rules | None:
    """The rules of a local day; None when no edition covers it (stored, not judged)."""
    try:
        ed = in_force(discharge.FAMILY, date(1970, 1, 1) + timedelta(days=local_day))
    except NoEditionError:
        return None
    carried = [i for i in discharge.items(ed) if i in WIRE]
    return Rules(ed.id, tuple(carried), tuple(ed.data["grades"]))


def local_day(stamp: float) -> int:
    """The local day a sample belongs to: the one its period ends in (a sample ending at
    midnight closes the day before)."""
    return math.ceil((stamp + OFFSET) / DAY) - 1


_TS = attrgetter("ts")


def judge(
    state: WastewaterState, plant: Plant, readings: Sequence[WastewaterReading], context: Context
) -> tuple[WastewaterState, Outcome]:
    """Judge a plant's samples in order; a sample not newer than the last one judged is stored
    but not judged (a late sample never reopens a closed day)."""
    out, alerts = start(state, "wastewater", plant.id, plant.county, context)
    for reading, stamp in newer(state, readings, _TS, out):
        day = local_day(stamp)
        if day != state.day:
            if state.day:
                close_day(state, plant, alerts)
            state.day, state.today = day, {}
        bad = invalid(reading.flags)  # values flagged invalid count as missing
        values = valid_values(WIRE, VALUES(reading), bad)
        state.values.update(values)
        today = state.today
        for name, value in values.items():
            found = today.get(name)
            if found is None:
                found = today[name] = Sum()
            found.add(value)
        alerts.reading(reading.ts, stamp, "")
        for item in SENSED:
            if item in values:
                sensors.judge(alerts, state.recent, item, values[item], SENSOR_KEYS[item])
        service(alerts, reading.flags, values, stamp)
    state.figures.update(out.figures)
    return state, out


def close_day(state: WastewaterState, plant: Plant, alerts: Alerts) -> None:
    """The day collected is over: its daily means, exported, and judged against Table 1."""
    means = {name: total.mean() for name, total in state.today.items()}
    state.values.update({f"{name}_24h": float(mean) for name, mean in means.items()})
    rules = rules_of(state.day)
    if rules is None:
        return
    daily = {item: means[item] for item in rules.items if item in means}
    if not daily:
        return
    judged = {plant.required_grade, rules.grades[-1]}
    try:
        verdicts = {
            grade: discharge.judge_discharge(
                daily,
                water_temp=means.get("temp"),
                built=plant.built,
                required=grade,
                edition=rules.edition,
            )
            for grade in judged
        }
    except ReadingError:  # a grade the edition does not know: stored, not judged
        return
    required = verdicts[plant.required_grade]
    grade = discharge.grade_number(rules.grades, required.grade_met)
    out = alerts.outcome
    out.figures["grade"] = grade
    out.figures["items_over"] = len(required.exceeding)
    end = (state.day + 1) * DAY - OFFSET  # the day's judgement stands at its end
    alerts.reading(datetime.fromtimestamp(end, CST), end, rules.edition)
    checks = [
        (OVER_GRADE, discharge.grade_number(rules.grades, plant.required_grade), required),
        (OVER_LOOSEST, len(rules.grades), verdicts[rules.grades[-1]]),
    ]
    began = {k.split("|", 1)[0]: k for k in alerts.alerts}
    for condition, limit, verdict in checks:
        # One alert per condition, named by the item furthest over when it began; later days
        # are judged onto it whichever item is over then, so it ends when the plant meets
        # the grade again and is not paged twice.
        worst = max(verdict.exceeding, key=_how_far, default=None)
        alert_key = began.get(condition) or key(condition, worst.parameter if worst else "")
        alerts.above(alert_key, grade, limit, limit, sustain=False)


def _how_far(excess: discharge.ItemExcess) -> Fraction:
    """How far an item is past its limit, as a share of it (pH: of the bound it crossed)."""
    if excess.multiple is not None:
        return excess.multiple
    assert isinstance(excess.limit, tuple)
    low, high = excess.limit
    return excess.excess / (low if excess.value < low else high)
