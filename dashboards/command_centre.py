"""Command centre: the wall display, one 1920x1080 screen, readable from across the room.

Top row: the plan targets as gauges against their goals. Middle: AQI by county, the station map
coloured by AQI category, the firing alerts. Bottom: the city's PM2.5 against its daily limits.
"""

from __future__ import annotations

from statistics import fmean
from typing import Any

from grafana_foundation_sdk.builders import bargauge, gauge, geomap, table, timeseries
from grafana_foundation_sdk.builders import common as cb
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
    thresholds,
    transform,
)
from schemas.reference import load_reference
from streams.relay.metrics import ACKNOWLEDGED, ALERT_KEY, ALERT_LABELS, ESCALATED, STATES

UID = "envwatch-command-centre"
# (target id, title, unit, decimals, max, lower is better). The goal comes from the worker's
# envwatch_target_goal, so editing alerts/targets.toml moves the gauges without a rebuild.
TARGETS = (
    ("aqi_good_day_ratio", "优良天数比例", "percentunit", 1, 1.0, False),
    ("bad_day_budget", "剩余污染天数额度", "d", 0, None, False),
    ("pm25_reduction", "PM2.5 浓度降幅", "percentunit", 1, 0.6, False),
    ("water_class3_ratio", "III类及以上断面", "percentunit", 1, 1.0, False),
    ("county_boundary_class3_ratio", "县界断面 III类以上", "percentunit", 1, 1.0, False),
    ("provincial_section_class3_ratio", "省控断面 III类以上", "percentunit", 1, 1.0, False),
    ("class5_sections", "V类及以下断面", "none", 0, None, True),
    ("energy_intensity", "单位GDP能耗 tce/万元", "none", 3, None, True),
    ("plants_grade_1a_ratio", "污水厂一级A达标率", "percentunit", 1, 1.0, False),
)
WIDTH = 24  # the wall's columns
# Grafana colours a value at or above a threshold step. Where lower is better the goal itself is
# still met, so the red step sits just past the goal.
PAST_GOAL = {"class5_sections": 1, "energy_intensity": 0.0005}
STATION_SITES = """
SELECT s.site_id AS site, s.name_zh AS name, c.name_zh AS county_name, s.lat, s.lon
FROM sites s JOIN counties c ON c.code = s.county
WHERE s.feed = 'air' AND s.lat IS NOT NULL AND s.lon IS NOT NULL
ORDER BY s.site_id
"""


def target_gauge(target: str, title: str, unit: str, decimals: int, top: float | None, lower: bool):
    goal = sel("envwatch_target_goal", target=target)
    if target in PAST_GOAL:
        goal = f"{goal} + {PAST_GOAL[target]}"
    steps = ((None, OK), (0, BAD)) if lower else ((None, BAD), (0, OK))
    panel = (
        gauge.Panel()
        .title(title)
        .datasource(PROMETHEUS)
        .with_target(prom(sel("envwatch_target_value", target=target), "value", instant=True))
        .with_target(prom(goal, "goal", "B", instant=True))
        # The goal query becomes the threshold, so the marker on the arc is the plan's goal.
        .with_transformation(
            transform(
                "configFromData",
                configRefId="B",
                mappings=[{"fieldName": "goal", "handlerKey": "threshold1"}],
            )
        )
        .unit(unit)
        .decimals(decimals)
        .min(0)
        .thresholds(thresholds(*steps))
        .show_threshold_markers(True)
        .reduce_options(last_value())
        .text(big_text(40, 18))
    )
    return panel.max(top) if top is not None else panel


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


def gauge_columns() -> list[tuple[int, int]]:
    """(x, width) of each target gauge: the top row shared out, the first ones a column wider
    when the targets do not divide it."""
    narrow, wider = divmod(WIDTH, len(TARGETS))
    widths = [narrow + (i < wider) for i in range(len(TARGETS))]
    return [(sum(widths[:i]), w) for i, w in enumerate(widths)]


def build() -> Any:
    """The layout is 24 columns by 27 rows: the whole of a 1080-pixel screen in kiosk mode."""
    return layout(
        dashboard(UID, "环境监测指挥中心 Command centre", refresh="30s"),
        *(
            (target_gauge(*spec), x, 0, w, 6)
            for spec, (x, w) in zip(TARGETS, gauge_columns(), strict=True)
        ),
        (aqi_by_county(), 0, 6, 7, 12),
        (station_map(), 7, 6, 10, 12),
        (active_alerts(), 17, 6, 7, 21),
        (pm25_trend(), 0, 18, 17, 9),
    )
