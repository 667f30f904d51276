"""``python -m bench.assessment``: one simulated year, assessed by the worker and by hand.

The simulator's readings of every site for 2025, its instrument faults included, are decoded
and written to the feed tables by the worker's own sink, as preliminary data. The audit lags a
month: the audited readings of the air and water sites through 30 November (the same readings
with the stuck or spiked hours corrected, from the simulator without faults) then go through
the same decoder and sink, which replaces the stored rows and keeps the revisions; December
stays preliminary. A worker then starts on the embedded stack,
reads the year from storage and exports its targets. Beside its figures (the exported series,
and the rows it stored) the same figures are worked out here from the stored rows with plain
SQL and Python: the station-days (GB 3095 validity), the city's days, their AQI (HJ 633) and
the good days; each section's class from the mean of each indicator over its samples (2011
method) and the shares at Class III or better, overall and by control level. Of the standards
this takes only their tables (IAQI breakpoints, class limits, the indicators evaluated, the
validity thresholds). Exits 1 when a figure differs. About three minutes here.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg import sql

from alerts.assessment.scope import BASES
from alerts.feeds.air import POLLUTANTS
from alerts.standards.aqi import iaqi
from alerts.standards.editions import CST, in_force
from alerts.standards.water_class import evaluated, parameter_class
from alerts.targets import GOOD_DAY_MAX_AQI
from bench.ceilings import decoders
from bench.stack import Stack
from envwatch.embedded import wait_until
from schemas import tables
from schemas.feeds import FEEDS
from schemas.reference import load_reference
from schemas.register_sync import sync_register
from schemas.resent import Source
from streams.rows import Row, row_of
from streams.simulate import SimConfig, Simulator
from streams.sink import ReadingSink

YEAR = 2025
SEED = 13
START, END = datetime(YEAR, 1, 1, tzinfo=CST), datetime(YEAR + 1, 1, 1, tzinfo=CST)
AUDITED_UNTIL = datetime(YEAR, 12, 1, tzinfo=CST)  # the audit a month behind (exclusive)
AUDITED_FEEDS = ("air", "water")
PER_MESSAGE = 60
SHARES = {  # target -> control level (None: every section)
    "water_class3_ratio": None,
    "county_boundary_class3_ratio": "county_boundary",
    "provincial_section_class3_ratio": "provincial",
}
FIGURES = ("aqi_good_day_ratio", *SHARES)


def weeks(
    simulator: Simulator, until: datetime, status: str = "preliminary"
) -> Iterator[tuple[str, list[Row]]]:
    """(feed, rows) of each week of the year up to ``until``, decoded as the worker decodes."""
    decode = decoders(simulator.reference)
    at = START
    while at < until:
        end = min(at + timedelta(days=7), until)
        by_feed: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for feed, _, payload in simulator.readings_between(at, end):
            by_feed[feed].append(payload | {"status": status})
        for feed, payloads in by_feed.items():
            rows = []
            for i in range(0, len(payloads), PER_MESSAGE):
                decoded = decode[feed].decode(orjson.dumps(payloads[i : i + PER_MESSAGE]), end)
                assert not decoded.rejects, decoded.rejects[:1]
                rows += [row_of(feed, r) for r in decoded.readings]
            yield feed, rows
        at = end


def write(url: str, readings: Iterator[tuple[str, list[Row]]]) -> dict[str, dict[str, int]]:
    """Rows written by the worker's sink, from offsets of a topic per feed; what they did."""
    sinks = {feed: ReadingSink(url, entry) for feed, entry in FEEDS.items()}
    offsets = {feed: itertools.count() for feed in FEEDS}
    done: dict[str, Counter[str]] = defaultdict(Counter)

    async def run() -> None:
        try:
            for feed, rows in readings:
                origins = [Source(f"bench.{feed}", 0, next(offsets[feed])) for _ in rows]
                written = await sinks[feed].write(rows, origins=origins)
                done[feed].update(
                    new=written.new,
                    revised=len(written.revised),
                    duplicates=written.duplicates,
                    conflicts=len(written.conflicts),
                )
        finally:
            for sink in sinks.values():
                await sink.close()

    asyncio.run(run())
    return {feed: dict(+counts) for feed, counts in done.items()}


def simulate(url: str) -> dict[str, dict[str, int]]:
    """The year's readings as sent first, preliminary, instrument faults and all."""
    return write(url, weeks(Simulator(load_reference(), SEED), END))


def audit(url: str) -> dict[str, dict[str, int]]:
    """The audited readings of the air and water sites through November, sent later: the
    same readings with the instruments' faults (stuck or spiked hours) corrected."""
    clean = Simulator(load_reference(), SEED, SimConfig.without_faults())
    audited = weeks(clean, AUDITED_UNTIL, "audited")
    return write(url, ((f, rows) for f, rows in audited if f in AUDITED_FEEDS))


# --- By hand ---------------------------------------------------------------------------------


def _basis(basis: str) -> str:
    return " AND status = 'audited'" if basis == "audited" else ""


def air_hours(db: psycopg.Connection, basis: str) -> Iterator[tuple[str, datetime, list]]:
    valid = ", ".join(
        f"CASE WHEN valid_value({p}, flags ->> '{p}') THEN {p} END" for p in POLLUTANTS
    )
    query = f"SELECT site_id, ts, {valid} FROM air_readings WHERE ts > %s AND ts <= %s"
    for site, ts, *values in db.execute(query + _basis(basis), (START, END)):
        yield site, ts, values


def station_days(db: psycopg.Connection, basis: str) -> dict[date, dict[str, dict[str, float]]]:
    """Each station-day's valid figures: 24-hour means with >= hours_per_day hours, the daily
    maximum of the 8-hour O3 means (each with >= hours_per_8h hours, of the 17 that start in
    the day, with >= windows_per_day of them) and the maximum O3 hour."""
    slots: dict[tuple[str, date], dict[str, list[float | None]]] = {}
    for site, ts, values in air_hours(db, basis):
        start = (ts - timedelta(hours=1)).astimezone(
            CST
        )  # the hour ending at 00:00: the day before
        held = slots.setdefault((site, start.date()), {p: [None] * 24 for p in POLLUTANTS})
        for p, v in zip(POLLUTANTS, values, strict=True):
            held[p][start.hour] = v
    out: dict[date, dict[str, dict[str, float]]] = defaultdict(dict)
    for (site, day), hours in slots.items():
        rule = in_force("air", day).data["validity"]
        per_day, per_8h, windows = (int(rule[k]) for k in ("hours_per_day", "hours_per_8h",
                                                               "windows_per_day"))  # fmt: skip
        figures = {}
        for p, values in hours.items():
            present = [v for v in values if v is not None]
            if p != "o3":
                if len(present) >= per_day:
                    figures[f"{p}_24h"] = sum(present) / len(present)
                continue
            means = []
            for i in range(17):
                window = [v for v in values[i : i + 8] if v is not None]
                if len(window) >= per_8h:
                    means.append(sum(window) / len(window))
            if len(means) >= windows:
                figures["o3_8h"] = max(means)
            if len(present) >= per_day:
                figures["o3_1h"] = max(present)
        if figures:
            out[day][site] = figures
    return out


def good_day_ratio(db: psycopg.Connection, basis: str) -> tuple[float, int, int]:
    """(ratio, good days, days with an AQI): the city's day is the mean of its stations'
    figures, its AQI the largest IAQI of those means."""
    good = counted = 0
    for day, stations in station_days(db, basis).items():
        figures: dict[str, list[float]] = defaultdict(list)
        for held in stations.values():
            for name, value in held.items():
                figures[name].append(value)
        if "pm25_24h" not in figures:
            continue
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=CST)
        means = {k: sum(v) / len(v) for k, v in figures.items()}
        aqi = max(iaqi(k, v, at=noon).value for k, v in means.items())
        counted += 1
        good += aqi <= GOOD_DAY_MAX_AQI
    return good / counted, good, counted


def section_classes(db: psycopg.Connection, basis: str) -> dict[str, int]:
    """Each section's class for the year: the worst class of the means of the indicators the
    2011 method evaluates for its water body (1-6)."""
    sections = load_reference().sites("water")
    quantities = FEEDS["water"].quantities
    means = sql.SQL(", ").join(
        sql.SQL("avg({}) FILTER (WHERE {})").format(sql.Identifier(q.attr), tables.valid(q))
        for q in quantities
    )
    query = sql.SQL("SELECT site_id, {} FROM water_readings WHERE ts >= %s AND ts < %s").format(
        means
    )
    query += sql.SQL(_basis(basis) + " GROUP BY site_id")  # type: ignore[arg-type]
    out = {}
    for site, *values in db.execute(query, (START, END)):
        waterbody = sections[site].waterbody
        judged = set(evaluated(waterbody))
        classes = [
            parameter_class(q.wire, v, waterbody)
            for q, v in zip(quantities, values, strict=True)
            if v is not None and q.wire in judged
        ]
        if classes:
            out[site] = max(classes)
    return out


def by_hand(url: str, basis: str) -> dict[str, float]:
    with psycopg.connect(url) as db:
        ratio, good, days = good_day_ratio(db, basis)
        classes = section_classes(db, basis)
    sections = load_reference().sites("water")
    out = {"aqi_good_day_ratio": ratio, "good_days": good, "days": days}
    for target, level in SHARES.items():
        held = [c for s, c in classes.items() if level in (None, sections[s].control_level)]
        out[target] = sum(c <= 3 for c in held) / len(held)
    out["class5_sections"] = sum(c >= 5 for c in classes.values())
    return out


# --- The system's ----------------------------------------------------------------------------


def exported(samples: Mapping[tuple[tuple[str, str], ...], float], basis: str) -> dict[str, float]:
    found = {}
    for labels, value in samples.items():
        label = dict(labels)
        if label["basis"] == basis and label["scope"] == "city":
            found[label["target"]] = value
    return found


def stored(url: str, basis: str) -> dict[str, float]:
    with psycopg.connect(url) as db:
        return dict(
            db.execute(
                "SELECT target, value FROM target_progress WHERE basis = %s AND scope = 'city'"
                " AND year = %s",
                (basis, YEAR),
            ).fetchall()
        )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="envwatch-assessment-") as tmp:
        stack = Stack(Path(tmp)).start()
        try:
            url = stack.admin_url
            sync_register(url)
            began = time.monotonic()
            written = simulate(url)
            took = time.monotonic() - began
            print(f"{YEAR}, seed {SEED}: rows written {written} in {took:.0f} s")
            began = time.monotonic()
            corrected = audit(url)
            last = AUDITED_UNTIL - timedelta(days=1)
            took = time.monotonic() - began
            print(f"audited readings through {last:%d %B}: {corrected} in {took:.0f} s")
            worker = stack.worker(stack.settings("assess"), "worker").wait_up(120)
            began = time.monotonic()
            wait_until(
                lambda: len(worker.samples("envwatch_target_value")) and stored(url, "audited"),
                300,
                "the worker's targets",
                every_s=1,
            )
            print(f"the worker read and assessed the year in {time.monotonic() - began:.0f} s")
            series = worker.samples("envwatch_target_value")
            rows = {basis: stored(url, basis) for basis in BASES}
            stack.stop([worker])
            differ = 0
            for basis in BASES:
                hand, system = by_hand(url, basis), exported(series, basis)
                print(f"\n{basis}: {hand['good_days']} good days of {hand['days']} with an AQI")
                print(f"  {'figure':34} {'exported':>10} {'stored':>10} {'by hand':>10}")
                for name in (*FIGURES, "class5_sections"):
                    got, row = system.get(name, math.nan), rows[basis].get(name, math.nan)
                    same = all(math.isclose(v, hand[name], abs_tol=1e-9) for v in (got, row))
                    differ += not same
                    mark = "" if same else "  DIFFERS"
                    print(f"  {name:34} {got:10.4f} {row:10.4f} {hand[name]:10.4f}{mark}")
        finally:
            stack.stop()
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
