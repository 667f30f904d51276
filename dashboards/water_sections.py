"""Water sections: classes now and over time, what exceeds, and the plan's Class III ratios.

Classes come live from the worker (Prometheus). The exceeding parameters are judged in SQL on
the latest valid value of each parameter against the section's target class, with the GB 3838 limits
taken from ``alerts/standards`` at build time; the register supplies target classes and the
upstream and downstream counties of boundary sections.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import bargauge, stat, statetimeline, table
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from alerts.targets import load_targets
from dashboards.common import (
    BAD,
    MIXED,
    OK,
    PROMETHEUS,
    WATER_COLOURS,
    big_text,
    by_parameter,
    category_cells,
    category_timeline,
    dashboard,
    editions,
    exceeding_table,
    join_on,
    last_value,
    layout,
    now_stat,
    organize,
    prom,
    sel,
    sql,
    sql_table,
    thresholds,
    values_sql,
    water_mapping,
)
from schemas import tables
from schemas.feeds import FEEDS

UID = "envwatch-water-sections"
CLASS = "envwatch_water_class"
BOUNDARY_LEVEL = {"control_level": "county_boundary"}
BOUNDARY = """
SELECT s.site_id AS site, s.name_zh AS name, s.attrs->>'river' AS river,
       up.name_zh AS upstream, down.name_zh AS downstream,
       (s.attrs->>'target_class')::int AS target_class
FROM sites s
LEFT JOIN counties up ON up.code = s.attrs->>'upstream_county'
LEFT JOIN counties down ON down.code = s.attrs->>'downstream_county'
WHERE s.feed = 'water' AND s.attrs->>'control_level' = '{control_level}'
ORDER BY s.site_id
"""


def share(by: str = "") -> str:
    """Share of sections at Class III or better; a group with none counts as 0, not missing."""
    group = f" by ({by})" if by else ""
    total = f"count{group} ({CLASS})"
    return f"(count{group} ({CLASS} <= 3) or {total} * 0) / {total}"


def limits() -> str:
    """GB 3838 limits per parameter, water body and class, for the evaluated indicators."""
    rows: list[tuple[object, ...]] = []
    for ed in editions("water"):
        until = str(ed.effective_to or "9999-12-31")
        evaluation = ed.data["evaluation"]
        for body, params in (
            ("river", evaluation["river"]),
            ("lake", evaluation["river"] + evaluation["lake_extra"]),
        ):
            for param in params:
                row = ed.data[param]
                direction = "max" if body == "lake" and "lake" in row else None
                values = (
                    row["lake"] if direction else next(v for k, v in row.items() if k != "lake")
                )
                direction = direction or next(k for k in row if k != "lake")
                for n in range(1, 6):
                    lo, hi = _bounds(direction, values, n)
                    rows.append((str(ed.effective_from), until, param, body, n, lo, hi))
    names = ("valid_from", "valid_to", "parameter", "waterbody", "class", "lo", "hi")
    return values_sql(rows, names)


def _bounds(direction: str, values: list[Any], n: int) -> tuple[float | None, float | None]:
    if direction == "range":
        return float(values[0]), float(values[1])
    limit = float(values[n - 1])
    return (limit, None) if direction == "min" else (None, limit)


def exceeding_sql() -> str:
    return f"""
WITH latest AS (
  SELECT DISTINCT ON (r.site_id, v.parameter) r.site_id, v.parameter, v.value, r.ts
  FROM {tables.table(FEEDS["water"])} r
  {by_parameter("water", "r")}
  WHERE v.valid AND $__timeFilter(r.ts)
  ORDER BY r.site_id, v.parameter, r.ts DESC
)
SELECT l.ts AS time, s.site_id AS site, s.name_zh AS name, l.parameter, l.value,
       coalesce(t.hi, t.lo) AS limit_value, t.class AS target_class
FROM latest l
JOIN sites s ON s.feed = 'water' AND s.site_id = l.site_id
JOIN {limits()}
  ON t.parameter = l.parameter
 AND t.waterbody = coalesce(s.attrs->>'waterbody', 'river')
 AND t.class = (s.attrs->>'target_class')::int
 AND (l.ts AT TIME ZONE 'Asia/Shanghai')::date BETWEEN t.valid_from::date AND t.valid_to::date
WHERE l.value < t.lo OR l.value > t.hi
ORDER BY s.site_id, l.parameter
"""


def ratio_stat(title: str, expr: str, goal: float) -> stat.Panel:
    return (
        now_stat(title, expr, "percentunit")
        .decimals(1)
        .thresholds(thresholds((None, BAD), (goal, OK)))
    )


def by_level() -> bargauge.Panel:
    goals = load_targets().class3_by_level
    panel = (
        bargauge.Panel()
        .title("各控制级别 III类及以上比例（最新样品）")
        .datasource(PROMETHEUS)
        .with_target(prom(share("control_level"), "{{control_level}}", instant=True))
        .unit("percentunit")
        .min(0)
        .max(1)
        .thresholds(thresholds((None, BAD), (float(load_targets().class3_overall), OK)))
        .orientation(cm.VizOrientation.HORIZONTAL)
        .reduce_options(last_value())
        .text(big_text(28, 16))
    )
    for level, goal in sorted(goals.items()):
        steps = thresholds((None, BAD), (float(goal), OK)).build()
        panel = panel.override_by_name(level, [dm.DynamicConfigValue("thresholds", steps)])
    return panel


def class_timeline() -> statetimeline.Panel:
    return category_timeline("各断面水质类别", CLASS, water_mapping(), WATER_COLOURS)


def exceeding() -> table.Panel:
    rename = {"site": "断面", "name": "名称", "parameter": "参数", "value": "最新值"}
    rename |= {"limit_value": "目标类别限值", "target_class": "目标类别", "time": "采样时间"}
    return exceeding_table("超过目标类别的指标", exceeding_sql(), rename).override_by_name(
        "目标类别", category_cells(water_mapping(), WATER_COLOURS)
    )


def boundary() -> table.Panel:
    rename = {"site": "断面", "name": "名称", "river": "河流", "upstream": "上游"}
    rename |= {"downstream": "下游", "target_class": "目标类别", "Value": "当前类别"}
    hide = ("Time", "__name__", "county", "control_level", "feed", "instance", "job")
    return (
        table.Panel()
        .title("县界交接断面")
        .datasource(MIXED)
        .with_target(sql(BOUNDARY.format(**BOUNDARY_LEVEL)))
        .with_target(prom(sel(CLASS, BOUNDARY_LEVEL), ref_id="B", table=True))
        .with_transformation(join_on("site"))
        .with_transformation(organize(rename, hide))
        .override_by_name("目标类别", category_cells(water_mapping(), WATER_COLOURS))
        .override_by_name("当前类别", category_cells(water_mapping(), WATER_COLOURS))
    )


# Each section's class over the newest month and the year so far by the 2011 national method
# (the mean of each indicator), on both bases, as the city's worker stores them.
PERIOD_CLASSES = """
WITH newest AS (
  SELECT max(starts) AS month FROM section_period_classes WHERE period = 'month'
)
SELECT s.site_id AS site, s.name_zh AS name, (s.attrs->>'target_class')::int AS target_class,
       max(p.water_class) FILTER (WHERE p.basis = 'realtime' AND p.period = 'month') AS month_rt,
       max(p.water_class) FILTER (WHERE p.basis = 'realtime' AND p.period = 'year') AS year_rt,
       max(p.water_class) FILTER (WHERE p.basis = 'audited' AND p.period = 'year') AS year_au,
       max(array_to_string(p.controlling, ', '))
         FILTER (WHERE p.basis = 'realtime' AND p.period = 'year') AS controlling,
       max(p.samples) FILTER (WHERE p.basis = 'realtime' AND p.period = 'year') AS samples
FROM section_period_classes p
JOIN sites s ON s.feed = 'water' AND s.site_id = p.site_id
CROSS JOIN newest n
WHERE p.starts >= date_trunc('year', n.month)
  AND (p.period = 'year' OR p.starts = n.month)
GROUP BY s.site_id, s.name_zh, s.attrs->>'target_class'
ORDER BY s.site_id
"""
PERIOD_COLUMNS = {"site": "断面", "name": "名称", "target_class": "目标类别"}
PERIOD_COLUMNS |= {"month_rt": "本月类别（实时）", "year_rt": "年度类别（实时）"}
PERIOD_COLUMNS |= {"year_au": "年度类别（审核）", "controlling": "定类指标", "samples": "样品数"}


def period_classes() -> table.Panel:
    """The assessed classes: the live class above is each section's latest sample only."""
    panel = sql_table(
        "断面考核类别（2011 评价办法：时段均值定类）",
        "按本月与年初至今各指标均值定类；实时数据与审核数据。上方为最新样品的实时类别。",
        PERIOD_CLASSES,
        PERIOD_COLUMNS,
        "尚无时段类别",
    )
    for column in ("目标类别", "本月类别（实时）", "年度类别（实时）", "年度类别（审核）"):
        panel = panel.override_by_name(column, category_cells(water_mapping(), WATER_COLOURS))
    return panel


def build() -> Any:
    targets = load_targets()
    worst = f"count({CLASS} >= 5) or vector(0)"
    return layout(
        dashboard(UID, "地表水断面 Water sections", refresh="5m", since="now-7d"),
        (
            ratio_stat("III类及以上断面比例（最新样品）", share(), float(targets.class3_overall)),
            0,
            0,
            6,
            6,
        ),
        (by_level(), 6, 0, 12, 6),
        (
            ratio_stat("V类及以下断面数（最新样品）", worst, targets.class5_max + 1)
            .unit("none")
            .decimals(0)
            .thresholds(thresholds((None, OK), (targets.class5_max + 1, BAD))),
            18,
            0,
            6,
            6,
        ),
        (class_timeline(), 0, 6, 24, 12),
        (exceeding(), 0, 18, 14, 10),
        (boundary(), 14, 18, 10, 10),
        (period_classes(), 0, 28, 24, 10),
    )
