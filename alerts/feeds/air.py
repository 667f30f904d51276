"""The air feed's judgement: a station's readings, in order, against HJ 633 and GB 3095. Pure.

For each hourly reading: the real-time AQI (PM on its 1-hour values, O3 on its 8-hour moving
mean when 6 of the 8 hours are valid), the PM2.5 24-hour moving mean when 20 of 24 hours
are valid, the station's local day closed into its valid daily means (a summary for the
city-wide targets), pollution alerts, and sensor-fault checks.

Exact and fast: values are kept as the decimals they were sent as, in thousandths (an exact
rational fallback takes values with more decimals), each moving window keeps its running
sum, sub-indices are integer interpolations (:mod:`alerts.standards.aqi_table`), and the
standards' editions are looked up once per local day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from fractions import Fraction
from functools import cache
from operator import attrgetter
from typing import NamedTuple

import msgspec

from alerts import sensors
from alerts.conditions import clear_at
from alerts.judge import Alerts, Context, Outcome, SiteState, key, newer, start
from alerts.standards import ReadingError, rational, thousandths
from alerts.standards.aqi_table import SubIndex, Table, table
from alerts.standards.editions import NoEditionError, in_force
from alerts.summaries import AirDay
from alerts.validity import invalid, service
from schemas.feeds.air import AirReading, Station

POLLUTANTS = ("pm25", "pm10", "so2", "no2", "o3", "co")
HOUR = 3600
DAY = 86400
OFFSET = 8 * HOUR  # China Standard Time


class Pollutant(NamedTuple):
    """What the judgement needs of one pollutant, made once."""

    name: str
    hourly: str  # its 1-hour AQI input, and the name its hourly value is exported by
    sensor: sensors.Keys
    out_of_range: str  # the alert key of its 1-hour value above the AQI table


PER_POLLUTANT = tuple(
    Pollutant(p, f"{p}_1h", sensors.keys_of([p])[p], key("dq_out_of_range", f"{p}_1h"))
    for p in POLLUTANTS
)
VALUES = attrgetter(*POLLUTANTS)
LIGHT, HEAVY = key("air_aqi_light", "aqi"), key("air_aqi_heavy", "aqi")
PM25_KEY = key("air_pm25_24h", "pm25_24h")
O3_8H_RANGE = key("dq_out_of_range", "o3_8h")


Kept = int | float  # a value in thousandths, or as sent when it has more decimals


class Window(msgspec.Struct, array_like=True):
    """One pollutant's values of the last hours, with their running exact sum.

    A value is kept in thousandths (an int) when its decimal has at most three places, as
    instruments report them, and as sent (a float) otherwise; the mean of a window holding
    such a float is summed exactly instead."""

    hours: list[int] = []
    values: list[Kept] = []
    total: int = 0  # sum of the values kept in thousandths
    inexact: int = 0  # how many are kept as floats

    def push(
        self, hour: int, value: float | None, keep: int, needed: int
    ) -> tuple[int, int] | None:
        """Move the window on to ``hour`` (hours older than ``keep`` go) and add its value,
        if any (replacing one of the same hour); returns the exact mean of the hours present
        when ``needed`` of them are."""
        hours, values = self.hours, self.values
        while hours and hours[0] <= hour - keep:
            del hours[0]
            self._forget(values.pop(0))
        if value is not None:
            while hours and hours[-1] >= hour:
                hours.pop()
                self._forget(values.pop())
            hours.append(hour)
            kept = _kept(value)
            values.append(kept)
            if type(kept) is int:
                self.total += kept
            else:
                self.inexact += 1
        n = len(values)
        if n < needed:
            return None
        if not self.inexact:
            return self.total, 1000 * n
        return _mean(values)

    def _forget(self, kept: int | float) -> None:
        if type(kept) is int:
            self.total -= kept
        else:
            self.inexact -= 1


class AirState(SiteState, kw_only=True, omit_defaults=True):
    windows: dict[str, Window] = msgspec.field(default_factory=dict)  # pm25 24 h, o3 8 h
    recent: dict[str, sensors.Recent] = msgspec.field(default_factory=dict)  # sensor checks
    day: int = 0  # the local day being collected, in days since 1970-01-01 (0: none yet)
    today: dict[str, list[Kept | None]] = msgspec.field(default_factory=dict)  # by hour


class Rules(NamedTuple):
    """What the editions in force on one local day say, looked up once for the day."""

    aqi: Table
    hours_per_day: int
    hours_per_8h: int
    windows_per_day: int
    pm25_24h: tuple[float, float]  # grade I and grade II limits


@cache
def rules_of(local_day: int) -> Rules | None:
    """The rules of a local day; None when no edition covers it (stored, not judged)."""
    day = date(1970, 1, 1) + timedelta(days=local_day)
    try:
        aqi_edition, air = in_force("aqi", day), in_force("air", day)
    except NoEditionError:
        return None
    validity = air.data["validity"]
    grades = air.data["limits"]["pm25"]["24h"]
    return Rules(
        table(aqi_edition.id),
        int(validity["hours_per_day"]),
        int(validity["hours_per_8h"]),
        int(validity["windows_per_day"]),
        (float(Fraction(grades[0])), float(Fraction(grades[1]))),
    )


State = AirState
FIGURES = {
    "aqi": "Hourly (real-time) AQI of a station",
    "aqi_category": "AQI category 1-6 of a station",
    "pm25_24h": "PM2.5 24-hour moving mean, when valid (>= 20 hours)",
}
FIGURE_LABELS: tuple[str, ...] = ()


def figure_labels(site: Station) -> tuple[str, ...]:
    return ()


_NAMES = {period: tuple(f"{p}_{period}" for p in POLLUTANTS) for period in ("1h", "24h")}
VALUE_NAMES = (*_NAMES["1h"], *_NAMES["24h"])  # the latest values it exports

_TS = attrgetter("ts")


def judge(
    state: AirState, station: Station, readings: Sequence[AirReading], context: Context
) -> tuple[AirState, Outcome]:
    """Judge a station's readings in order; a reading not newer than the last one judged is
    stored but not judged (a late reading never reopens a window or an alert)."""
    out, alerts = start(state, "air", station.id, station.county, context)
    for reading, stamp in newer(state, readings, _TS, out):
        period = reading.period
        values = VALUES(reading)
        flags = reading.flags
        if flags:  # a value flagged invalid counts as missing
            bad = invalid(flags)
            values = tuple(None if p in bad else v for p, v in zip(POLLUTANTS, values, strict=True))
        names = _NAMES[period]
        exported = state.values
        for name, value in zip(names, values, strict=True):
            if value is not None:
                exported[name] = value
        rules = rules_of(int((stamp + OFFSET) // DAY))
        if rules is None:
            continue
        limit = rules.pm25_24h[0 if station.zone_class == 1 else 1]
        if period == "1h":
            _hourly(state, station, reading, stamp, values, rules, limit, alerts)
        else:
            alerts.reading(reading.ts, stamp, "")
            pm25 = values[0]
            if pm25 is not None:  # a daily reading: its PM2.5 is a 24-hour mean
                out.figures["pm25_24h"] = pm25
                alerts.above(PM25_KEY, pm25, limit, clear_at("air_pm25_24h", limit))
        if flags or state.alerts:
            valid = [p for p, v in zip(POLLUTANTS, values, strict=True) if v is not None]
            service(alerts, flags, valid, stamp)
    state.figures.update(out.figures)
    return state, out


def _hourly(
    state: AirState,
    station: Station,
    reading: AirReading,
    stamp: float,
    values: tuple[float | None, ...],
    rules: Rules,
    limit: float,
    alerts: Alerts,
) -> None:
    hour = int(stamp // HOUR)
    pm25, _, so2, _, o3, _ = values
    windows = state.windows
    # Moving means over the hours present in each window, whether or not this hour has one.
    pm25_24h = _moving(windows, "pm25", hour, pm25, 24, rules.hours_per_day)
    o3_8h = _moving(windows, "o3", hour, o3, 8, rules.hours_per_8h)
    so2_24h = _moving(windows, "so2", hour, so2, 24, rules.hours_per_day)
    out = alerts.outcome
    today, slot = _today(state, station, stamp, out)

    table = rules.aqi
    seen = table.readings
    present: list[tuple[Pollutant, float, SubIndex | None]] = []  # with its sub-index
    index = 0
    o3_sub = None
    try:
        for pollutant, value in zip(PER_POLLUTANT, values, strict=True):
            if value is None:
                continue
            found = seen[pollutant.hourly].get(value) or table.of_reading(pollutant.hourly, value)
            present.append((pollutant, value, found))
            sub_index = found.value
            if sub_index is None:  # above the table (note 2: SO2 by its 24-hour mean)
                sub_index = _so2_24h_index(so2_24h, table) if pollutant.name == "so2" else 500
            if sub_index > index:
                index = sub_index
        if o3_8h is not None:
            o3_sub = SubIndex(table.sub_index("o3_8h", *o3_8h), *o3_8h)
            index = max(index, _o3_8h_index(o3_sub, o3, table))
        indexed = bool(present) or o3_sub is not None  # the 8-hour O3 mean alone gives one
    except ReadingError:  # an implausible value: no AQI this hour (and no out-of-range checks)
        present = [
            (p, v, None) for p, v in zip(PER_POLLUTANT, values, strict=True) if v is not None
        ]
        o3_sub, indexed = None, False
    for pollutant, value, sub in present:  # the hour in the station's day
        hours = today.get(pollutant.name)
        if hours is None:
            hours = today[pollutant.name] = [None] * 24
        hours[slot] = sub.num if sub is not None and sub.den == 1000 else _kept(value)

    alerts.reading(reading.ts, stamp, table.edition if indexed else "")
    if indexed:
        out.figures["aqi"] = index
        out.figures["aqi_category"] = table.category(index)
        light, heavy = table.polluted
        alerts.above(LIGHT, index, light, clear_at("air_aqi_light", light))
        alerts.above(HEAVY, index, heavy, clear_at("air_aqi_heavy", heavy))
    if pm25_24h is not None:
        mean = pm25_24h[0] / pm25_24h[1]
        out.figures["pm25_24h"] = mean
        alerts.above(PM25_KEY, mean, limit, clear_at("air_pm25_24h", limit))
    recent, open_alerts = state.recent, alerts.alerts
    for pollutant, value, sub in present:
        sensors.judge(alerts, recent, pollutant.name, value, pollutant.sensor)
        if sub is not None and (sub.value is None or pollutant.out_of_range in open_alerts):
            _range_check(alerts, pollutant.out_of_range, pollutant.hourly, sub, table)
    if o3_sub is not None:
        _range_check(alerts, O3_8H_RANGE, "o3_8h", o3_sub, table)


def _moving(
    windows: dict[str, Window], pollutant: str, hour: int, value: float | None, keep: int, need: int
) -> tuple[int, int] | None:
    """A pollutant's moving mean at this hour: its window moved on, with this hour's value."""
    window = windows.get(pollutant)
    if window is None:
        if value is None:
            return None
        window = windows[pollutant] = Window()
    return window.push(hour, value, keep, need)


def _o3_8h_index(sub: SubIndex, o3: float | None, table: Table) -> int:
    """Note 3 of HJ 633 Table 1: above its last breakpoint the O3 8-hour mean is reported by
    the O3 1-hour value (500 without one)."""
    if sub.value is not None:
        return sub.value
    hourly = None if o3 is None else table.of_reading("o3_1h", o3).value
    return 500 if hourly is None else hourly


def _so2_24h_index(so2_24h: tuple[int, int] | None, table: Table) -> int:
    """Note 2 of HJ 633 Table 1: above its last breakpoint an SO2 1-hour value gives no
    sub-index; the SO2 sub-index is that of its 24-hour moving mean (500 without a valid one,
    or above that table too)."""
    daily = None if so2_24h is None else table.sub_index("so2_24h", *so2_24h)
    return 500 if daily is None else daily


def _range_check(alerts: Alerts, alert_key: str, key_: str, sub: SubIndex, table: Table) -> None:
    """A value above the top of the AQI table: physically possible, reported as IAQI 500, and
    worth a look at the instrument."""
    above = sub.value is None
    if above or alert_key in alerts.alerts:
        top_num, top_den = table.top(key_)
        alerts.observe(
            alert_key, above, not above, sub.num / sub.den, top_num / top_den, sustain=False
        )


def _today(
    state: AirState, station: Station, stamp: float, out: Outcome
) -> tuple[dict[str, list[Kept | None]], int]:
    """The station's local day the hour belongs to, and its slot; a reading of a later day
    closes the day before (readings are judged in time order). An hourly reading's timestamp
    is the end of its hour, so 23:00-24:00 belongs to the day it started in."""
    start = stamp - HOUR + OFFSET
    slot_day, slot = int(start // DAY), int(start // HOUR) % 24
    if slot_day != state.day:
        if state.day:
            means = daily_means(state.today, state.day)
            if means:
                closed = date(1970, 1, 1) + timedelta(days=state.day)
                out.summaries.append(AirDay(site=station.id, day=closed.isoformat(), means=means))
        state.day, state.today = slot_day, {}
    return state.today, slot


def _kept(value: float) -> Kept:
    scaled = thousandths(value)
    return value if scaled is None else scaled


def daily_means(today: dict[str, list[Kept | None]], local_day: int) -> dict[str, float]:
    """The valid daily figures of a day: ``{p}_24h``, ``o3_8h`` (the daily maximum of the
    8-hour means), ``o3_1h`` (the daily maximum hour), by the rules in force that day."""
    rules = rules_of(local_day)
    if rules is None:
        return {}
    means: dict[str, float] = {}
    for pollutant, hours in today.items():
        present = [v for v in hours if v is not None]
        if pollutant == "o3":
            best = _best_window(hours, rules.hours_per_8h, rules.windows_per_day)
            if best is not None:
                means["o3_8h"] = best[0] / best[1]
            if len(present) >= rules.hours_per_day:
                top = max(present, key=_exact)
                means["o3_1h"] = top / 1000 if type(top) is int else top
            continue
        if len(present) >= rules.hours_per_day:
            num, den = _mean(present)
            means[f"{pollutant}_24h"] = num / den
    return means


def _best_window(hours: list[Kept | None], needed: int, windows: int) -> tuple[int, int] | None:
    """The highest of the day's 17 8-hour means with ``needed`` hours, when at least
    ``windows`` of them are valid (the daily maximum 8-hour O3, GB 3095 and HJ 663)."""
    if any(type(v) is float for v in hours):
        exact = [None if v is None else _exact(v) for v in hours]
        means = []
        for i in range(17):
            window = [v for v in exact[i : i + 8] if v is not None]
            if len(window) >= needed:
                means.append(sum(window, Fraction(0)) / len(window))
        if len(means) < windows:
            return None
        best = max(means)
        return best.numerator, best.denominator
    total, count = [0], [0]  # running sums of the thousandths and of the hours present
    for v in hours:
        total.append(total[-1] + (0 if v is None else int(v)))
        count.append(count[-1] + (v is not None))
    found, valid = (0, 1), 0
    for i in range(17):
        n = count[i + 8] - count[i]
        if n >= needed:
            valid += 1
            s = total[i + 8] - total[i]
            if s * found[1] > found[0] * n * 1000 or valid == 1:
                found = (s, 1000 * n)
    return found if valid >= windows else None


def _exact(kept: Kept) -> Fraction:
    return Fraction(kept, 1000) if type(kept) is int else Fraction(*rational(kept))


def _mean(values: Sequence[Kept]) -> tuple[int, int]:
    """The exact mean of kept values, (numerator, denominator)."""
    if all(type(v) is int for v in values):
        return sum(values), 1000 * len(values)  # type: ignore[arg-type]
    mean = sum(map(_exact, values), Fraction(0)) / len(values)
    return mean.numerator, mean.denominator
