"""Command centre: the wall display, one 1920x1080 screen, readable from across the room.

Top row: the plan targets as gauges against their goals, on the real-time basis. Middle: AQI by
county, the station map coloured by AQI category, the firing alerts. Bottom: the city's PM2.5
against its daily limits, energy intensity by county, and every target on both bases side by
side (real-time and audited, from the targets' table).
"""

from __future__ import annotations

from statistics import fmean
from typing import Any, NamedTuple

from grafana_foundation_sdk.builders import bargauge, gauge, geomap, table, timeseries
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus as pb
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from alerts.notify.escalation import ESCALATED as ESCALATION
from dashboards.common import AQI_COLOURS as AQI
from dashboards.common import (
    BAD,
    FIRING,
    MIXED,
    OK,
    PM25_1H,
    PROMETHEUS,
    aqi_mapping,
    aqi_thresholds,
    big_text,
    category_thresholds,
    dashboard,
    join_on,
    last_value,
    latest_edition,
    layout,
    organize,
    prom,
    sel,
    sql,
    sql_table,
    thresholds,
    transform,
    values_sql,
)
from schemas.reference import load_reference
from streams.relay.metrics import ACKNOWLEDGED, ALERT_KEY, ALERT_LABELS, ESCALATED, STATES

UID = "envwatch-command-centre"
WALL_BASIS = {"basis": "realtime"}  # the gauges: every stored value, as it comes
CITY = {"scope": "city"}


class Target(NamedTuple):
    """A plan target as the wall shows it. The goal comes from the worker's
    envwatch_target_goal, so editing alerts/targets.toml moves the gauges without a rebuild."""

    id: str
    title: str
    unit: str
    decimals: int
    top: float | None  # the gauge's maximum
    lower_is_better: bool = False
    not_set: str = ""  # what a NaN value means: a figure the target file does not give


TARGETS = (
    Target("aqi_good_day_ratio", "优良天数比例", "percentunit", 1, 1.0),
    Target("bad_day_budget", "剩余污染天数额度", "d", 0, None),
    Target("pm25_reduction", "PM2.5 浓度降幅", "percentunit", 1, 0.6,
           not_set="未设定基准 baseline not set"),
    Target("water_class3_ratio", "III类及以上断面", "percentunit", 1, 1.0),
    Target("county_boundary_class3_ratio", "县界断面 III类以上", "percentunit", 1, 1.0),
    Target("provincial_section_class3_ratio", "省控断面 III类以上", "percentunit", 1, 1.0),
    Target("class5_sections", "V类及以下断面", "none", 0, None, True),
    Target("wastewater_grade1a_ratio", "污水厂一级A达标率", "percentunit", 1, 1.0),
)  # fmt: skip
WIDTH = 24  # the wall's columns
ENERGY = Target("energy_intensity", "单位GDP能耗 tce/万元（全市与各区县）", "none", 3, None, True)
# Grafana colours a value at or above a threshold step. Where lower is better the goal itself is
# still met, so the red step sits just past the goal.
PAST_GOAL = {"class5_sections": 1, "energy_intensity": 0.0005}
STATUS_ZH = {"met": "达成", "at_risk": "有风险", "missed": "未完成"}
STATION_SITES = """
SELECT s.site_id AS site, s.name_zh AS name, c.name_zh AS county_name, s.lat, s.lon
FROM sites s JOIN counties c ON c.code = s.county
WHERE s.feed = 'air' AND s.lat IS NOT NULL AND s.lon IS NOT NULL
ORDER BY s.site_id
"""


def goal_threshold(target: Target) -> tuple[dm.DataTransformerConfig, db.ThresholdsConfig]:
    """The goal query (ref B) made the panel's threshold, so the marker is the plan's goal."""
    steps = ((None, OK), (0, BAD)) if target.lower_is_better else ((None, BAD), (0, OK))
    step = transform(
        "configFromData",
        configRefId="B",
        mappings=[{"fieldName": "goal", "handlerKey": "threshold1"}],
    )
    return step, thresholds(*steps)


def goal_query(target: Target) -> pb.Dataquery:
    goal = sel("envwatch_target_goal", WALL_BASIS, CITY, target=target.id)
    if target.id in PAST_GOAL:
        goal = f"{goal} + {PAST_GOAL[target.id]}"
    return prom(goal, "goal", "B", instant=True)


def target_gauge(target: Target) -> gauge.Panel:
    step, steps = goal_threshold(target)
    value = sel("envwatch_target_value", WALL_BASIS, CITY, target=target.id)
    panel = (
        gauge.Panel()
        .title(target.title)
        .description("实时数据（每个入库值）；审核数据见右下表")
        .datasource(PROMETHEUS)
        .with_target(prom(value, "value", instant=True))
        .with_target(goal_query(target))
        .with_transformation(step)
        .unit(target.unit)
        .decimals(target.decimals)
        .min(0)
        .thresholds(steps)
        .show_threshold_markers(True)
        .reduce_options(last_value())
        .text(big_text(40, 18))
        .no_value("尚无数据")
    )
    if target.not_set:
        panel = panel.mappings([not_set(target.not_set)])
    return panel.max(target.top) if target.top is not None else panel


def not_set(text: str) -> dm.SpecialValueMap:
    """A NaN value: the worker has no figure the target needs (the target file lacks it)."""
    shown = dm.ValueMappingResult(text=text, color="#8E8E8E")
    return dm.SpecialValueMap(
        options=dm.DashboardSpecialValueMapOptions(match=dm.SpecialValueMatch.NA_N, result=shown)
    )


def energy_intensity() -> bargauge.Panel:
    """The city's and each county's intensity of the key units' consumption, against the
    city's reduction path (the goal's marker, absent until the target file sets it)."""
    step, steps = goal_threshold(ENERGY)
    names = {c.code: c.name_zh for c in load_reference().counties.values()} | {"city": "全市"}
    intensities = sel("envwatch_target_value", WALL_BASIS, target=ENERGY.id)
    panel = (
        bargauge.Panel()
        .title(ENERGY.title)
        .datasource(PROMETHEUS)
        .with_target(prom(intensities, "{{scope}}", instant=True))
        .with_target(goal_query(ENERGY))
        .with_transformation(step)
        .orientation(cm.VizOrientation.HORIZONTAL)
        .display_mode(cm.BarGaugeDisplayMode.BASIC)
        .min(0)
        .decimals(ENERGY.decimals)
        .thresholds(steps)
        .reduce_options(last_value())
        .text(big_text(22, 16))
        .no_value("尚无数据")
    )
    for code, name in sorted(names.items()):
        panel = panel.override_by_name(code, [dm.DynamicConfigValue("displayName", name)])
    return panel


def progress_sql() -> str:
    """Every target of the newest year on both bases, formatted by its unit."""
    targets = (*TARGETS, ENERGY)
    rows = [
        (t.id, t.title.split("（")[0], n, *_shown(t.unit, t.decimals))
        for n, t in enumerate(targets)
    ]
    shown = values_sql(rows, ("target", "title", "n", "scale", "suffix", "fmt"))
    status = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in STATUS_ZH.items())

    def text(column: str) -> str:
        return (
            f"CASE WHEN {column} = 'NaN' THEN '未设定' "
            f"ELSE to_char({column} * t.scale, t.fmt) || t.suffix END"
        )

    return f"""
SELECT t.title AS target, coalesce(c.name_zh, '全市') AS scope,
       max({text("p.value")}) FILTER (WHERE p.basis = 'realtime') AS realtime,
       max({text("p.value")}) FILTER (WHERE p.basis = 'audited') AS audited,
       max({text("p.goal")}) FILTER (WHERE p.basis = 'realtime') AS goal,
       max(CASE p.status {status} END) FILTER (WHERE p.basis = 'audited') AS audited_status,
       max(p.as_of) FILTER (WHERE p.basis = 'audited') AS audited_as_of
FROM target_progress p
JOIN {shown} ON t.target = p.target
LEFT JOIN counties c ON c.code = p.scope
WHERE p.year = (SELECT max(year) FROM target_progress)
GROUP BY t.n, t.title, p.scope, c.name_zh
ORDER BY t.n, p.scope <> 'city', c.name_zh
"""


def _shown(unit: str, decimals: int) -> tuple[float, str, str]:
    """(scale, suffix, to_char format) of a unit."""
    pattern = "FM999990" + ("." + "0" * decimals if decimals else "")
    if unit == "percentunit":
        return 100.0, "%", pattern
    return 1.0, " 天" if unit == "d" else "", pattern


def both_bases() -> table.Panel:
    rename = {"target": "指标", "scope": "范围", "realtime": "实时", "audited": "审核"}
    rename |= {"goal": "目标", "audited_status": "审核状态", "audited_as_of": "审核截至"}
    return sql_table(
        "规划目标：实时与审核数据",
        "实时：每个入库值；审核：审核数据（考核依据）。TargetMissed 以审核数据为准。",
        progress_sql(),
        rename,
        "尚无目标数据",
    )


def aqi_by_county() -> bargauge.Panel:
    return (
        bargauge.Panel()
        .title("各区县 AQI")
        .datasource(PROMETHEUS)
        .with_target(prom("round(avg by (county) (envwatch_air_aqi))", "{{county}}", instant=True))
        .orientation(cm.VizOrientation.HORIZONTAL)
        .display_mode(cm.BarGaugeDisplayMode.BASIC)
        .min(0)
        .max(300)
        .decimals(0)
        .thresholds(aqi_thresholds())
        .reduce_options(last_value())
        .text(big_text(28, 18))
    )


def map_centre() -> tuple[float, float]:
    counties = [c for c in load_reference().counties.values() if c.lat and c.lon]
    return round(fmean(c.lat for c in counties), 2), round(fmean(c.lon for c in counties), 2)


def station_map() -> geomap.Panel:
    lat, lon = map_centre()
    markers = (
        cb.MapLayerOptions()
        .type("markers")
        .name("站点")
        .location(
            cb.FrameGeometrySource()
            .mode(cm.FrameGeometrySourceMode.COORDS)
            .latitude("lat")
            .longitude("lon")
        )
        .tooltip(True)
        .config(
            {
                "showLegend": True,
                "style": {
                    "color": {"field": "Value", "fixed": AQI[0]},
                    "size": {"fixed": 14, "min": 4, "max": 20},
                    "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                    "opacity": 0.9,
                },
            }
        )
    )
    return (
        geomap.Panel()
        .title("空气站点 AQI 类别")
        .datasource(MIXED)
        .with_target(sql(STATION_SITES, "A"))
        .with_target(prom("envwatch_air_aqi_category", ref_id="B", table=True))
        .with_transformation(join_on("site"))
        .view(geomap.MapViewConfig().id("coords").lat(lat).lon(lon).zoom(8.6))
        .basemap(cb.MapLayerOptions().type("default").name("底图"))
        .layers([markers])
        .thresholds(category_thresholds(AQI))
        .mappings(aqi_mapping())
        .controls(geomap.ControlsOptions().show_zoom(False).mouse_wheel_zoom(False))
    )


def alert_states() -> str:
    """One row per firing alert, its value its state (``STATES``): acknowledged (and by whom)
    before escalated (and to whom) before neither. An escalation is a state of the alert it
    escalates, not a row of its own."""
    key, shown = ", ".join(ALERT_KEY), ", ".join(ALERT_LABELS)
    acknowledged = f"max by ({shown}, acknowledged_by) ({ACKNOWLEDGED}) * 0 + 2"
    escalated = f"max by ({shown}, level, escalated_to) ({ESCALATED}) * 0 + 1"
    firing = sel("ALERTS", FIRING, alertname=f"!{ESCALATION}")
    return (
        f"({acknowledged} or on ({key}) {escalated} or on ({key}) max by ({shown}) ({firing}) * 0)"
        f" and on ({key}) {sel('ALERTS', FIRING)}"
    )


def coloured(cell: str, shown: dict[str, tuple[str, str]]) -> list[dm.DynamicConfigValue]:
    """A column whose values are shown as words (value -> (text, colour)) in ``cell`` style."""
    words = {
        value: dm.ValueMappingResult(text=text, color=colour, index=i)
        for i, (value, (text, colour)) in enumerate(shown.items())
    }
    return [
        dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": cell}),
        dm.DynamicConfigValue(id_val="mappings", value=[dm.ValueMap(options=words)]),
    ]


def active_alerts() -> table.Panel:
    severity = coloured(
        "color-background",
        {"critical": ("严重", BAD), "warning": ("警告", AQI[2]), "info": ("提示", "#5794F2")},
    )
    colours = {0: BAD, 1: AQI[2], 2: OK}
    state = coloured("color-text", {str(c): (name, colours[c]) for c, name in STATES.items()})
    rename = {"Value": "状态", "severity": "级别", "alertname": "告警", "county": "区县"}
    rename |= {"site": "站点", "parameter": "参数", "acknowledged_by": "确认人"}
    rename |= {"escalated_to": "升级至"}
    return (
        table.Panel()
        .title("当前告警")
        .datasource(PROMETHEUS)
        .with_target(prom(alert_states(), table=True))
        .with_transformation(organize(rename, ("Time", "__name__", "feed", "level")))
        .override_by_name("级别", severity)
        .override_by_name("状态", state)
        .sort_by([cb.TableSortByFieldState().display_name("级别")])
        .no_value("无告警")
    )


def pm25_trend() -> timeseries.Panel:
    grade1, grade2 = latest_edition("air").data["limits"]["pm25"]["24h"]
    return (
        timeseries.Panel()
        .title(f"全市 PM2.5 (µg/m³)；虚线为 24 小时限值 {grade1} / {grade2}")
        .datasource(PROMETHEUS)
        .with_target(prom(f"avg({sel('envwatch_reading_value', PM25_1H)})", "小时值"))
        .with_target(prom("avg(envwatch_air_pm25_24h)", "24 小时均值", "B"))
        .unit("conµgm3")
        .min(0)
        .line_width(3)
        .thresholds(
            thresholds((None, "transparent"), (float(grade1), AQI[1]), (float(grade2), BAD))
        )
        .thresholds_style(cb.GraphThresholdsStyleConfig().mode(cm.GraphTresholdsStyleMode.DASHED))
        .legend(
            cb.VizLegendOptions()
            .show_legend(True)
            .placement(cm.LegendPlacement.BOTTOM)
            .display_mode(cm.LegendDisplayMode.LIST)
        )
    )


def gauge_cells() -> list[tuple[int, int]]:
    """(x, width) of each target gauge: the top row shared out, the first ones a column wider
    when the targets do not divide it."""
    narrow, wider = divmod(WIDTH, len(TARGETS))
    widths = [narrow + (i < wider) for i in range(len(TARGETS))]
    return [(sum(widths[:i]), w) for i, w in enumerate(widths)]


def build() -> Any:
    """The layout is 24 columns by 27 rows: the whole of a 1080-pixel screen in kiosk mode."""
    return layout(
        dashboard(UID, "环境监测指挥中心 Command centre", refresh="30s"),
        *((target_gauge(t), x, 0, w, 6) for t, (x, w) in zip(TARGETS, gauge_cells(), strict=True)),
        (aqi_by_county(), 0, 6, 7, 12),
        (station_map(), 7, 6, 10, 12),
        (active_alerts(), 17, 6, 7, 12),
        (pm25_trend(), 0, 18, 9, 9),
        (energy_intensity(), 9, 18, 7, 9),
        (both_bases(), 16, 18, 8, 9),
    )
