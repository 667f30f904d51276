"""Wastewater plants: the grade each plant's days meet, its daily means against its limits, and
what exceeds.

The grades come live from the worker (Prometheus: the plant's last closed day). The daily means
are computed in SQL from the plant table the way the worker computes them (valid values only,
a sample counted on the local day its period ends in, exact decimal means) and compared with
the plant's required grade, the GB 18918 limits taken from ``alerts/standards`` at build time
by the judgement's own rule (NH3-N's cold-water limit by the day's mean water temperature, TP
by the plant's build date).
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from typing import Any

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import stat, statetimeline, table, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from alerts.standards import discharge
from alerts.targets import load_targets
from dashboards.common import (
    AQI_COLOURS,
    BAD,
    MIXED,
    OK,
    POSTGRES,
    WASTEWATER,
    by_parameter,
    category_cells,
    category_mapping,
    category_timeline,
    dashboard,
    editions,
    exceeding_table,
    join_on,
    latest_edition,
    layout,
    now_stat,
    organize,
    prom,
    sel,
    sql,
    thresholds,
    values_sql,
)
from schemas import tables
from schemas.feeds import FEEDS

UID = "envwatch-wastewater-plants"
GRADE = "envwatch_wastewater_grade"
ITEMS_OVER = "envwatch_wastewater_items_over"
FEED = FEEDS["wastewater"]
# The plan's figure, as the city assesses it: the share of plants whose means over the year so
# far meet 1A, on the real-time data (the wall's basis).
SHARE_1A = sel(
    "envwatch_target_value", basis="realtime", scope="city", target="wastewater_grade1a_ratio"
)
# 一级A, 一级B, and past the loosest grade: green, yellow, red.
GRADE_COLOURS = (OK, AQI_COLOURS[1], BAD)
PLANTS = """
SELECT s.site_id AS site, s.name_zh AS name, c.name_zh AS county_name,
       (s.attrs->>'capacity_m3_d')::float8 AS capacity, s.attrs->>'built' AS built,
       s.attrs->>'required_grade' AS required
FROM sites s JOIN counties c ON c.code = s.county
WHERE s.feed = 'wastewater'
ORDER BY s.site_id
"""


def grade_of(name: str | None) -> int:
    """A grade's number in the series (1 一级A); None for past the loosest."""
    return discharge.grade_number(latest_edition(discharge.FAMILY).data["grades"], name)


def share(metric: str, condition: str) -> str:
    """Share of plants whose ``metric`` meets ``condition`` (``== 0``); none counts as 0, not
    missing."""
    return f"(count({metric} {condition}) or count({metric}) * 0) / count({metric})"


def limits() -> str:
    """Every item's limit for every grade, cold or warm water, older or newer plant, as the
    judgement's ``discharge.grade_limits`` gives it, with when each variant applies."""
    rows: list[tuple[object, ...]] = []
    for ed in editions(discharge.FAMILY):
        until = str(ed.effective_to or "9999-12-31")
        for item in discharge.items(ed):
            rule = ed.data[item]
            cold_at, cutoff = rule.get("cold_at_or_below_c"), rule.get("cutoff")
            for cold in (False, True) if cold_at is not None else (False,):
                for old in (False, True) if cutoff is not None else (False,):
                    temp = Fraction(cold_at) if cold else None
                    built = cutoff - timedelta(days=1) if old else (cutoff or ed.effective_from)
                    for grade in ed.data["grades"]:
                        limit = discharge.grade_limits(ed, grade, temp, built)[item]
                        lo, hi = limit if isinstance(limit, tuple) else (None, limit)
                        rows.append(
                            (str(ed.effective_from), until, item, grade, cold, old,
                             None if cold_at is None else float(cold_at),
                             None if cutoff is None else str(cutoff),
                             None if lo is None else float(lo), float(hi))
                        )  # fmt: skip
    names = ("valid_from", "valid_to", "parameter", "grade", "cold", "old", "cold_at", "cutoff")
    return values_sql(rows, (*names, "lo", "hi"))


def judged_sql() -> str:
    """Each plant's closed days: every item's daily mean with its required grade's limit."""
    return f"""
WITH sample AS (
  SELECT r.site_id, ((r.{FEED.time_column} AT TIME ZONE 'Asia/Shanghai')
                     - interval '1 microsecond')::date AS day, v.parameter, v.value
  FROM {tables.table(FEED)} r
  {by_parameter("wastewater", "r")}
  WHERE v.valid AND $__timeFilter(r.{FEED.time_column})
), daily AS (
  SELECT site_id, day, parameter, avg(value::numeric) AS mean
  FROM sample
  WHERE day < (now() AT TIME ZONE 'Asia/Shanghai')::date
  GROUP BY site_id, day, parameter
), judged AS (
  SELECT d.site_id, d.day, d.parameter, d.mean, t.lo::numeric AS lo, t.hi::numeric AS hi,
         s.attrs->>'required_grade' AS grade
  FROM daily d
  JOIN sites s ON s.feed = 'wastewater' AND s.site_id = d.site_id
  LEFT JOIN daily w ON w.site_id = d.site_id AND w.day = d.day AND w.parameter = 'temp'
  JOIN {limits()}
    ON t.parameter = d.parameter AND t.grade = s.attrs->>'required_grade'
   AND t.cold = coalesce(w.mean <= t.cold_at::numeric, false)
   AND t.old = coalesce((s.attrs->>'built')::date < t.cutoff::date, false)
   AND d.day BETWEEN t.valid_from::date AND t.valid_to::date
)"""


def exceeding_sql() -> str:
    return f"""{judged_sql()}
SELECT j.day::timestamp AT TIME ZONE 'Asia/Shanghai' AS time, s.site_id AS site,
       s.name_zh AS name, j.parameter, j.mean::float8 AS value,
       (CASE WHEN j.mean < j.lo THEN j.lo ELSE j.hi END)::float8 AS limit_value, j.grade
FROM judged j
JOIN sites s ON s.feed = 'wastewater' AND s.site_id = j.site_id
WHERE j.mean < j.lo OR j.mean > j.hi
ORDER BY time DESC, s.site_id, j.parameter
"""


def nearest_sql() -> str:
    """Per plant and day, the item nearest its limit (or furthest over): mean / limit."""
    return f"""{judged_sql()}
SELECT j.day::timestamp AT TIME ZONE 'Asia/Shanghai' AS time, s.name_zh AS metric,
       max(j.mean / j.hi)::float8 AS of_limit
FROM judged j
JOIN sites s ON s.feed = 'wastewater' AND s.site_id = j.site_id
WHERE j.lo IS NULL
GROUP BY 1, 2
ORDER BY 1, 2
"""


def grade_mapping() -> list[dm.ValueMapping]:
    return category_mapping(discharge.grade_labels(latest_edition(discharge.FAMILY)), GRADE_COLOURS)


def stats() -> list[stat.Panel]:
    worst = f"count({GRADE} >= {grade_of(None)}) or vector(0)"
    flow = sel("envwatch_reading_value", WASTEWATER, parameter="flow")
    flow = f"sum(max without (instance, job) ({flow}))"
    return [
        now_stat("达到执行标准的厂比例", share(ITEMS_OVER, "== 0"), "percentunit")
        .decimals(1)
        .thresholds(thresholds((None, BAD), (1.0, OK))),
        now_stat("达到一级A的厂比例", SHARE_1A, "percentunit")
        .decimals(1)
        .thresholds(thresholds((None, BAD), (float(load_targets().wastewater_share), OK))),
        now_stat("超过一级B的厂数", worst, "none")
        .decimals(0)
        .thresholds(thresholds((None, OK), (1, BAD))),
        now_stat("当前出水流量合计", flow, "suffix: m³/h")
        .decimals(0)
        .color_mode(cm.BigValueColorMode.NONE),
    ]


def grade_timeline() -> statetimeline.Panel:
    title = "各厂达到的排放标准等级（最近一日）"
    return category_timeline(title, GRADE, grade_mapping(), GRADE_COLOURS)


def nearest() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("各厂日均值 / 执行标准限值（最接近限值的项目，pH 除外）")
        .datasource(POSTGRES)
        .with_target(sql(nearest_sql(), series=True))
        .unit("percentunit")
        .min(0)
        .thresholds(thresholds((None, "transparent"), (1.0, BAD)))
        .thresholds_style(cb.GraphThresholdsStyleConfig().mode(cm.GraphTresholdsStyleMode.DASHED))
        .legend(cb.VizLegendOptions().show_legend(True).display_mode(cm.LegendDisplayMode.LIST))
    )


def exceeding() -> table.Panel:
    rename = {"time": "日期", "site": "厂", "name": "名称", "parameter": "项目"}
    rename |= {"value": "日均值", "limit_value": "限值", "grade": "执行标准"}
    return exceeding_table("日均值超过执行标准的项目", exceeding_sql(), rename)


def plants() -> table.Panel:
    rename = {"site": "厂", "name": "名称", "county_name": "区县", "capacity": "设计规模 m³/d"}
    rename |= {"built": "建成", "required": "执行标准", "Value": "最近一日等级"}
    hide = ("Time", "__name__", "county", "required_grade", "instance", "job")
    return (
        table.Panel()
        .title("城镇污水处理厂")
        .datasource(MIXED)
        .with_target(sql(PLANTS))
        .with_target(prom(GRADE, ref_id="B", table=True))
        .with_transformation(join_on("site"))
        .with_transformation(organize(rename, hide))
        .override_by_name("最近一日等级", category_cells(grade_mapping(), GRADE_COLOURS))
    )


def build() -> Any:
    board = dashboard(UID, "污水处理厂 Wastewater plants", refresh="5m", since="now-30d")
    return layout(
        board,
        *((panel, 6 * i, 0, 6, 5) for i, panel in enumerate(stats())),
        (grade_timeline(), 0, 5, 24, 8),
        (nearest(), 0, 13, 24, 9),
        (exceeding(), 0, 22, 13, 10),
        (plants(), 13, 22, 11, 10),
    )
