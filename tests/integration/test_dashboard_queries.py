"""Every SQL query of every panel runs, as Grafana's read-only role, on the migrated schema.

The readings are realistic (``tests.support.readings``: every site of the register, some plants
over their grade), ending now, so the dashboards' own time ranges hold them; the plan targets
are assessed from them and stored as the worker does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from alerts.feeds.wastewater import local_day
from alerts.standards.aqi import iaqi
from alerts.standards.discharge import judge_discharge
from alerts.standards.water_class import parameter_class
from dashboards.build import MODULES, as_dict
from envwatch.embedded import READER_ROLE
from schemas.migrate import migrate
from schemas.reference import load_reference
from schemas.register_sync import sync_register
from tests.support.database import assess_stored, own_database, refresh_aggregates, store
from tests.support.grafana_macros import CITY, Target, TimeRange, expand_sql, targets
from tests.support.readings import EFFLUENT, two_days

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
PROM_FIELDS = {"Time", "Value", "__name__", "instance", "job"}  # a Prometheus table's own fields


@pytest.fixture(scope="module")
def reader(postgres: Any) -> Iterator[psycopg.Connection]:
    """The reader role on a database of the module's own: its readings end now, and would
    otherwise be the current year of every worker started after it in the session."""
    with own_database(postgres.url(), "envwatch_dashboards") as url:
        migrate(url)
        sync_register(url)
        for feed, readings in two_days(NOW).items():
            store(url, feed, readings)
        assess_stored(url)  # the plan targets' rows, as the worker stores them
        with psycopg.connect(url, autocommit=True) as admin:
            refresh_aggregates(admin, NOW - timedelta(hours=48), NOW)
        dbname = conninfo_to_dict(url)["dbname"]
        with psycopg.connect(make_conninfo(postgres.url(READER_ROLE), dbname=dbname)) as conn:
            conn.autocommit = True
            yield conn


def _sql_targets() -> list[tuple[dict[str, Any], Target]]:
    boards = [as_dict(m) for m in MODULES]
    return [(b, t) for b in boards for t in targets(b, "grafana-postgresql-datasource")]


def run(
    reader: psycopg.Connection, board: dict[str, Any], target: Target
) -> tuple[list[str], list]:
    station = next(iter(load_reference().sites("air")))
    span = TimeRange.of(board["time"]["from"], datetime.now(UTC))
    text = expand_sql(target.query["rawSql"], span, {"station": station})
    with reader.cursor() as cur:
        cur.execute(text)
        return [c.name for c in cur.description], cur.fetchall()


def expected_fields(panel: dict[str, Any]) -> set[str]:
    """Field names the panel's own settings refer to: map coordinates, joins, reductions."""
    names: set[str] = set()
    for layer in (panel.get("options") or {}).get("layers", []):
        location = layer.get("location", {})
        names |= {location[k] for k in ("latitude", "longitude") if k in location}
    for step in panel.get("transformations", []):
        options = step.get("options", {})
        names |= {options["byField"]} if "byField" in options else set()
        names |= set(options.get("renameByName", {}))
    fields = (panel.get("options") or {}).get("reduceOptions", {}).get("fields", "")
    names |= set(re.findall(r"/\^(\w+)\$/", fields))
    return names


@pytest.mark.parametrize(
    ("board", "target"), _sql_targets(), ids=lambda x: getattr(x, "where", "sql")
)
def test_panel_sql_returns_the_columns_the_panel_reads(
    reader: psycopg.Connection, board: dict[str, Any], target: Target
) -> None:
    columns, rows = run(reader, board, target)
    assert rows, f"{target.where}: no rows"
    if target.query.get("format") == "time_series":
        assert columns[0] == "time", columns
        assert all(isinstance(r[-1], float | int) or r[-1] is None for r in rows)
    if target.panel["title"].startswith("variable"):
        assert {"__value", "__text"} <= set(columns)
    mixed = target.panel.get("datasource", {}).get("uid") == "-- Mixed --"
    missing = expected_fields(target.panel) - set(columns)
    if mixed:  # the rest must come from the Prometheus side: its own fields or labels
        missing -= PROM_FIELDS | {"site", "county", "control_level", "feed", "severity"}
    assert not missing, f"{target.where}: the panel reads {missing}, the query gives {columns}"


def _one(title: str) -> tuple[dict[str, Any], Target]:
    return next((b, t) for b, t in _sql_targets() if t.panel["title"] == title)


def test_iaqi_in_sql_agrees_with_the_standards_module(reader: psycopg.Connection) -> None:
    board, target = _one("分指数 IAQI")
    station = next(iter(load_reference().sites("air")))
    span = TimeRange.of(board["time"]["from"], datetime.now(UTC))
    with reader.cursor() as cur:
        cur.execute(
            "SELECT bucket, pm25_avg, pm10_avg, so2_avg, no2_avg, o3_avg, co_avg FROM air_hourly "
            "WHERE site_id = %s AND period = '1h' AND bucket BETWEEN %s AND %s",
            (station, span.start, span.end),
        )
        names = [f"{c.name.removesuffix('_avg')}_1h" for c in cur.description[1:]]
        expected = {
            (row[0], p): iaqi(p, round(v, 6), at=row[0]).value
            for row in cur.fetchall()
            for p, v in zip(names, row[1:], strict=True)
            if v is not None
        }
    _, rows = run(reader, board, target)
    got = {(r[0], r[1]): int(r[2]) for r in rows}
    assert got == expected


def test_exceeding_parameters_are_worse_than_the_target_class(reader: psycopg.Connection) -> None:
    board, target = _one("超过目标类别的指标")
    columns, rows = run(reader, board, target)
    sections = load_reference().sites("water")
    for row in (dict(zip(columns, r, strict=True)) for r in rows):
        section = sections[row["site"]]
        got = parameter_class(row["parameter"], round(row["value"], 6), section.waterbody)
        assert got > row["target_class"] == section.target_class, row
    # nh3n 0.62 mg/L is Class III: every section with a Class II target must be listed for it.
    class2 = {s for s, v in sections.items() if v.target_class <= 2}
    assert class2 <= {
        r[columns.index("site")] for r in rows if r[columns.index("parameter")] == "nh3n"
    }


def test_plants_exceeding_in_sql_are_those_the_judgement_finds(reader: psycopg.Connection) -> None:
    """The panel's daily means and limits agree with the worker's rule and the standard: the
    same local days, valid values only, NH3-N by the day's water temperature, TP by build date."""
    board, target = _one("日均值超过执行标准的项目")
    columns, rows = run(reader, board, target)
    got = {(r[columns.index("site")], r[columns.index("time")], r[columns.index("parameter")])
           for r in rows}  # fmt: skip
    plants = load_reference().sites("wastewater")
    span = TimeRange.of(board["time"]["from"], datetime.now(UTC))
    today = local_day(datetime.now(UTC).timestamp() + 1)
    days: dict[tuple[str, int], dict[str, list[float]]] = {}
    for reading in two_days(NOW)["wastewater"]:
        stamp = reading.ts.timestamp()
        if not span.start <= reading.ts <= span.end or local_day(stamp) >= today:
            continue
        values = days.setdefault((reading.plant_id, local_day(stamp)), {})
        for name in EFFLUENT:
            if not (reading.flags or {}).get(name):
                values.setdefault(name, []).append(getattr(reading, name))
    expected = set()
    for (site, day), values in days.items():
        plant = plants[site]
        means = {k: Fraction(sum(map(Decimal, map(repr, v)))) / len(v) for k, v in values.items()}
        verdict = judge_discharge(
            {k: v for k, v in means.items() if k not in ("temp", "flow")},
            water_temp=means["temp"],
            built=plant.built,
            required=plant.required_grade,
        )
        midnight = datetime(1970, 1, 1, tzinfo=CITY) + timedelta(days=day)
        expected |= {(site, midnight, e.parameter) for e in verdict.exceeding}
    print(f"\n{len(got)} exceedances: {sorted({(s, p) for s, _, p in got})}")
    assert got == expected
    assert {p for _, _, p in got} == {"tp", "cod"}  # NH3-N 7 in cold water meets 1A
