"""Shared defaults of every dashboard: data sources, colours, selectors and panel factories.

Dashboards say what they show; this module says how it looks, so a colour, a data source uid or
a label selector is written once. PostgreSQL targets get a small dataquery type of their own,
registered with the SDK's runtime, because the SDK ships no SQL dataquery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus as pb
from grafana_foundation_sdk.builders import stat, statetimeline, table
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models.prometheus import PromQueryFormat
from psycopg import sql as psql

from alerts.standards.editions import Edition, all_editions
from alerts.standards.water_class import LABELS as WATER_LABELS
from schemas import tables
from schemas.feed import Quantity
from schemas.feeds import FEEDS

PROMETHEUS = dm.DataSourceRef(type_val="prometheus", uid="envwatch-prometheus")
POSTGRES = dm.DataSourceRef(type_val="grafana-postgresql-datasource", uid="envwatch-postgres")
MIXED = dm.DataSourceRef(type_val="datasource", uid="-- Mixed --")
FOLDER_UID, FOLDER_TITLE = "envwatch", "envwatch"
TIMEZONE = "Asia/Shanghai"  # the city's days, whatever the browser says

# HJ 633 Appendix A colours of AQI categories 1-6 (the same in every edition shipped).
AQI_COLOURS = ("#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#99004C", "#7E0023")
AQI_NAMES = ("优", "良", "轻度污染", "中度污染", "重度污染", "严重污染")
AQI_LOWER = (0, 51, 101, 151, 201, 301)  # lowest integer AQI of each category
# Surface-water classes I..劣V (1..6): blues for I-II, green III, then yellow to red.
WATER_COLOURS = ("#00B0F0", "#0070C0", "#00B050", "#FFD700", "#FF8C00", "#FF0000")
OK, BAD = "#00B050", "#FF0000"

# Label selectors: the only place a feed or parameter label value is spelled.
AIR, WATER, ENERGY = {"feed": "air"}, {"feed": "water"}, {"feed": "energy"}
WASTEWATER = {"feed": "wastewater"}
PM25_1H = {"feed": "air", "parameter": "pm25_1h"}
WORKER_JOB = {"job": "envwatch-worker"}
FIRING = {"alertstate": "firing"}
STATION = {"site": "$station"}


def sel(metric: str, *selectors: dict[str, str], **labels: str) -> str:
    """``metric{a="x",b="y"}`` from selector dicts and keywords; a ``~`` prefix is a regex,
    a ``!`` prefix a value to exclude."""
    merged: dict[str, str] = {}
    for part in (*selectors, labels):
        merged |= part
    operators = {"~": "=~", "!": "!="}
    terms = [
        f'{k}{operators[v[0]]}"{v[1:]}"' if v[:1] in operators else f'{k}="{v}"'
        for k, v in merged.items()
    ]
    return f"{metric}{{{','.join(terms)}}}" if terms else metric


class SqlQuery(cogvariants.Dataquery):
    """A raw-SQL target of Grafana's PostgreSQL data source, as its editor saves it."""

    def __init__(self, raw_sql: str = "", ref_id: str = "A", fmt: str = "table") -> None:
        self.raw_sql, self.ref_id, self.format = raw_sql, ref_id, fmt

    def to_json(self) -> dict[str, object]:
        return {
            "datasource": POSTGRES.to_json(),
            "editorMode": "code",
            "format": self.format,
            "rawQuery": True,
            "rawSql": self.raw_sql,
            "refId": self.ref_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(data.get("rawSql", ""), data.get("refId", "A"), data.get("format", "table"))


cogruntime.register_dataquery_variant(
    cogruntime.DataqueryConfig(
        identifier=POSTGRES.type_val or "", from_json_hook=SqlQuery.from_json
    )
)


class Sql(cogbuilder.Builder[SqlQuery]):
    def __init__(self, raw_sql: str, ref_id: str = "A", fmt: str = "table") -> None:
        self._internal = SqlQuery(" ".join(raw_sql.split()), ref_id, fmt)

    def build(self) -> SqlQuery:
        return self._internal


def sql(raw_sql: str, ref_id: str = "A", series: bool = False) -> Sql:
    """A SQL target; ``series`` for long time series (``time``, ``metric``, value columns)."""
    return Sql(raw_sql, ref_id, "time_series" if series else "table")


def prom(
    expr: str, legend: str = "", ref_id: str = "A", instant: bool = False, table: bool = False
) -> pb.Dataquery:
    """A PromQL target; ``table`` gives one row per series with its labels, for joins."""
    query = pb.Dataquery().expr(expr).ref_id(ref_id).datasource(PROMETHEUS)
    if legend:
        query = query.legend_format(legend)
    if instant or table:
        query = query.instant()
    if table:
        query = query.format(PromQueryFormat.TABLE)
    return query


def thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=v, color=c) for v, c in steps])
    )


def aqi_thresholds() -> db.ThresholdsConfig:
    return thresholds(*((None if i == 0 else v, c) for i, (v, c) in enumerate(_aqi_pairs())))


def _aqi_pairs() -> list[tuple[int, str]]:
    return list(zip(AQI_LOWER, AQI_COLOURS, strict=True))


def category_thresholds(colours: tuple[str, ...]) -> db.ThresholdsConfig:
    """Steps at 1..n for a category number (AQI category, water class)."""
    return thresholds(*((None if n == 1 else n, c) for n, c in enumerate(colours, start=1)))


def category_mapping(names: tuple[str, ...], colours: tuple[str, ...]) -> list[dm.ValueMapping]:
    options = {
        str(n): dm.ValueMappingResult(text=name, color=colour, index=n - 1)
        for n, (name, colour) in enumerate(zip(names, colours, strict=True), start=1)
    }
    return [dm.ValueMap(options=options)]


def aqi_mapping() -> list[dm.ValueMapping]:
    return category_mapping(AQI_NAMES, AQI_COLOURS)


def water_mapping() -> list[dm.ValueMapping]:
    return category_mapping(tuple(f"{x}类" for x in WATER_LABELS), WATER_COLOURS)


def big_text(value: int = 48, title: int = 20) -> cb.VizTextDisplayOptions:
    """Sizes for a wall display read from across a room."""
    return cb.VizTextDisplayOptions().title_size(title).value_size(value)


def now_stat(
    title: str,
    expr: str,
    unit: str = "none",
    *,
    legend: str = "",
    text: tuple[int, int] = (48, 20),
    sparkline: bool = True,
) -> stat.Panel:
    """The value of an instant Prometheus query on the colour of its threshold step, in a wall
    display's sizes (``text``: value and title), with its sparkline or without."""
    panel = (
        stat.Panel()
        .title(title)
        .datasource(PROMETHEUS)
        .with_target(prom(expr, legend, instant=True))
        .unit(unit)
        .reduce_options(last_value())
        .text(big_text(*text))
        .color_mode(cm.BigValueColorMode.BACKGROUND)
    )
    return panel if sparkline else panel.graph_mode(cm.BigValueGraphMode.NONE)


def category_timeline(
    title: str, metric: str, mapping: list[dm.ValueMapping], colours: tuple[str, ...]
) -> statetimeline.Panel:
    """Each site's category number (water class, discharge grade) over time, by name and
    colour."""
    return (
        statetimeline.Panel()
        .title(title)
        .datasource(PROMETHEUS)
        .with_target(prom(metric, "{{site}}"))
        .thresholds(category_thresholds(colours))
        .mappings(mapping)
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .show_value(cm.VisibilityMode.AUTO)
    )


def exceeding_table(title: str, query: str, rename: dict[str, str]) -> table.Panel:
    """The rows of a query of items over their limits, its columns renamed; none is good news."""
    return (
        table.Panel()
        .title(title)
        .datasource(POSTGRES)
        .with_target(sql(query))
        .with_transformation(organize(rename))
        .no_value("无超标")
    )


def category_cells(
    mapping: list[dm.ValueMapping], colours: tuple[str, ...]
) -> list[dm.DynamicConfigValue]:
    """A table column of category numbers (water class, discharge grade) shown as their
    names on their colours."""
    return [
        dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-background"}),
        dm.DynamicConfigValue(id_val="mappings", value=mapping),
        dm.DynamicConfigValue(id_val="thresholds", value=category_thresholds(colours).build()),
    ]


def last_value() -> cb.ReduceDataOptions:
    return cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def transform(kind: str, **options: Any) -> dm.DataTransformerConfig:
    return dm.DataTransformerConfig(id_val=kind, options=options)


def join_on(field: str) -> dm.DataTransformerConfig:
    """Outer join of every frame on one field (SQL register rows with live Prometheus values)."""
    return transform("joinByField", byField=field, mode="outer")


def organize(rename: dict[str, str], hide: tuple[str, ...] = ()) -> dm.DataTransformerConfig:
    return transform(
        "organize",
        renameByName=rename,
        excludeByName=dict.fromkeys(hide, True),
        indexByName={name: i for i, name in enumerate(rename)},
    )


P = Any  # any panel builder of the SDK (each viz has its own class with the same layout calls)


def place(panel: P, x: int, y: int, w: int, h: int) -> P:
    """Explicit grid positions, so a test can check the wall display fits one screen."""
    return panel.grid_pos(dm.GridPos(h=h, w=w, x=x, y=y))


def layout(board: Any, *cells: tuple[P, int, int, int, int]) -> Any:
    """Adds ``(panel, x, y, w, h)`` cells with stable ids (links to a panel survive rebuilds)."""
    for n, (panel, x, y, w, h) in enumerate(cells, start=1):
        board = board.with_panel(place(panel, x, y, w, h).id(n))
    return board.build()


def dashboard(uid: str, title: str, *, refresh: str = "1m", since: str = "now-24h") -> Any:
    return (
        db.Dashboard(title)
        .uid(uid)
        .tags(["envwatch"])
        .timezone(TIMEZONE)
        .refresh(refresh)
        .time(since, "now")
        .readonly()
        .link(
            db.DashboardLink("envwatch")
            .type(dm.DashboardLinkType.DASHBOARDS)
            .tags(["envwatch"])
            .as_dropdown(True)
            .keep_time(True)
        )
    )


def values_sql(rows: list[tuple[object, ...]], names: tuple[str, ...]) -> str:
    """A ``(VALUES ...) AS t(names)`` relation, so standards tables reach SQL from one source."""

    def literal(v: object) -> str:
        if v is None:
            return "NULL"
        if isinstance(v, str):
            return "'" + v.replace("'", "''") + "'"
        return f"{v}::float8" if not isinstance(v, bool) else str(v).upper()

    body = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)
    return f"(VALUES {body}) AS t({', '.join(names)})"


def latest_edition(family: str) -> Edition:
    """The newest edition shipped: dashboards draw its limits, whatever day they are built."""
    return [e for e in all_editions() if e.family == family][-1]


def editions(family: str) -> list[Edition]:
    return [e for e in all_editions() if e.family == family]


def per_quantity(feed: str, column: Callable[[Quantity], psql.Composable]) -> str:
    """A column per quantity of the feed, named by its wire name (``"pm25_avg" AS "pm25"``):
    the series of a wide time-series query."""
    return ", ".join(
        psql.SQL("{} AS {}").format(column(q), psql.Identifier(q.wire)).as_string()
        for q in FEEDS[feed].quantities
    )


def figure(q: Quantity, name: str, row: str | None = None) -> psql.Composable:
    """An aggregate's figure of a quantity (``pm25_avg``), of ``row`` if given."""
    return psql.Identifier(*((row,) if row else ()), tables.stat_column(q, name))


def by_parameter(feed: str, row: str, of: str | None = None) -> str:
    """One wide row of a feed as a row per quantity, ``v(parameter, value, valid)``, named by
    wire name as the standards name it: from the feed table (valid by the validity rule of
    ``schemas/tables.py``), or from an aggregate (its figure ``of`` of each quantity, valid
    where the bucket held valid values)."""

    def one(q: Quantity) -> psql.Composable:
        if of is None:
            value, valid = psql.Identifier(row, q.attr), tables.valid(q, row)
        else:
            value, valid = figure(q, of, row), psql.SQL("{} > 0").format(figure(q, "n", row))
        return psql.SQL("({}, {}, {})").format(psql.Literal(q.wire), value, valid)

    values = psql.SQL(", ").join(one(q) for q in FEEDS[feed].quantities)
    return (
        psql.SQL("CROSS JOIN LATERAL (VALUES {}) AS v(parameter, value, valid)")
        .format(values)
        .as_string()
    )


def sql_table(
    title: str, about: str, query: str, columns: dict[str, str], empty: str
) -> table.Panel:
    """A table of one SQL query, its columns renamed (in that order), saying when it is empty."""
    return (
        table.Panel()
        .title(title)
        .description(about)
        .datasource(POSTGRES)
        .with_target(sql(query))
        .with_transformation(organize(columns))
        .no_value(empty)
    )
