"""Air station detail: one station, chosen by the ``station`` variable.

Live figures come from Prometheus; pollutant history, IAQI and completeness from the air
aggregates in PostgreSQL (hourly values, period ``1h``), so they reach back as far as the data
does. IAQI is computed in SQL from the HJ 633 breakpoints of ``alerts/standards`` (each edition
over the days it was in force), never retyped here.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import stat, statetimeline, table, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from psycopg import sql as psql

from alerts.standards.air_limits import required_days
from alerts.standards.aqi import COLUMN
from dashboards.common import (
    AIR,
    AQI_COLOURS,
    BAD,
    OK,
    POSTGRES,
    PROMETHEUS,
    STATION,
    aqi_mapping,
    aqi_thresholds,
    big_text,
    by_parameter,
    category_thresholds,
    dashboard,
    editions,
    figure,
    latest_edition,
    layout,
    now_stat,
    per_quantity,
    prom,
    sel,
    sql,
    sql_table,
    thresholds,
    values_sql,
)
from schemas import tables
from schemas.feeds import FEEDS

UID = "envwatch-air-station"
HOURLY_KEYS = ("so2_1h", "no2_1h", "co_1h", "o3_1h", "pm10_1h", "pm25_1h")
HOURLY = tables.aggregate(FEEDS["air"], tables.HOURLY)
DAILY = tables.aggregate(FEEDS["air"], tables.DAILY)
STATIONS = """
SELECT site_id AS __value, name_zh || ' ' || site_id AS __text
FROM sites WHERE feed = 'air' ORDER BY site_id
"""
POLLUTANTS = f"""
SELECT bucket AS time, {per_quantity("air", lambda q: figure(q, "avg"))}
FROM {HOURLY}
WHERE site_id = ${{station:sqlstring}} AND period = '1h' AND $__timeFilter(bucket)
ORDER BY 1
"""
# A day's valid hours of each pollutant (its count in the daily aggregate) out of 24.
SHARE = psql.SQL("{}::float8 / 24")
COMPLETENESS = f"""
SELECT bucket AS time, {per_quantity("air", lambda q: SHARE.format(figure(q, "n")))}
FROM {DAILY}
WHERE site_id = ${{station:sqlstring}} AND period = '1h' AND $__timeFilter(bucket)
ORDER BY 1
"""


def breakpoints() -> str:
    """Every IAQI segment of every AQI edition, with the days it applies to."""
    rows: list[tuple[object, ...]] = []
    for ed in editions("aqi"):
        until = str(ed.effective_to or "9999-12-31")
        iaqi = ed.data["breakpoints"]["iaqi"]
        for key in HOURLY_KEYS:
            column = [str(c) for c in ed.data["breakpoints"][COLUMN[key]]]
            for i in range(len(column) - 1):
                row = (str(ed.effective_from), until, key, column[i], column[i + 1])
                rows.append((*row, iaqi[i], iaqi[i + 1]))
            # Above the top breakpoint HJ 633 reports 500.
            rows.append((str(ed.effective_from), until, key, column[-1], "1e12", 500, 500))
    names = ("valid_from", "valid_to", "parameter", "c_lo", "c_hi", "i_lo", "i_hi")
    return values_sql([tuple(_num(v) for v in r) for r in rows], names)


def _num(v: object) -> object:
    """Concentrations and dates travel as text; numbers become SQL numbers."""
    return float(v) if isinstance(v, str) and v[0].isdigit() and "-" not in v else v


def iaqi_sql() -> str:
    """Each hourly mean's sub-index, the pollutant keyed with its period as the AQI keys are."""
    return f"""
SELECT h.bucket AS time, v.parameter || '_' || h.period AS metric,
       ceil(t.i_lo + (t.i_hi - t.i_lo) * (v.value - t.c_lo) / (t.c_hi - t.c_lo)) AS iaqi
FROM {HOURLY} h
{by_parameter("air", "h", "avg")}
JOIN {breakpoints()}
  ON t.parameter = v.parameter || '_' || h.period
 AND (v.value > t.c_lo OR (t.c_lo = 0 AND v.value = 0)) AND v.value <= t.c_hi
 AND (h.bucket AT TIME ZONE 'Asia/Shanghai')::date BETWEEN t.valid_from::date AND t.valid_to::date
WHERE h.site_id = ${{station:sqlstring}} AND h.period = '1h' AND $__timeFilter(h.bucket)
ORDER BY 1, 2
"""


def station_variable() -> db.QueryVariable:
    return (
        db.QueryVariable("station")
        .label("站点 Station")
        .datasource(POSTGRES)
        .query(" ".join(STATIONS.split()))
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
    )


PARAMETER = "{{parameter}}"  # a series' legend: its parameter label


def station_stat(title: str, expr: str, unit: str = "none", legend: str = "") -> stat.Panel:
    return now_stat(title, expr, unit, legend=legend, text=(40, 16), sparkline=False)


def stats() -> list[stat.Panel]:
    grade1, grade2 = latest_edition("air").data["limits"]["pm25"]["24h"]
    return [
        station_stat("AQI", sel("envwatch_air_aqi", STATION)).thresholds(aqi_thresholds()),
        station_stat("类别", sel("envwatch_air_aqi_category", STATION))
        .thresholds(category_thresholds(AQI_COLOURS))
        .mappings(aqi_mapping()),
        station_stat("PM2.5 24h", sel("envwatch_air_pm25_24h", STATION), "conµgm3").thresholds(
            thresholds((None, OK), (float(grade1), AQI_COLOURS[1]), (float(grade2), BAD))
        ),
        station_stat(
            "距上次数据",
            f"time() - {sel('envwatch_site_last_seen_timestamp_seconds', AIR, STATION)}",
            "s",
        ).thresholds(thresholds((None, OK), (7200, AQI_COLOURS[2]), (21600, BAD))),
    ]


def latest_values() -> stat.Panel:
    return (
        station_stat(
            "最新浓度", sel("envwatch_reading_value", AIR, STATION), legend="{{parameter}}"
        )
        .color_mode(cm.BigValueColorMode.NONE)
        .text(big_text(24, 14))
    )


def history(title: str, query: str, unit: str) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .datasource(POSTGRES)
        .with_target(sql(query, series=True))
        .unit(unit)
        .min(0)
        .legend(cb.VizLegendOptions().show_legend(True).display_mode(cm.LegendDisplayMode.LIST))
    )


def category_history() -> statetimeline.Panel:
    return (
        statetimeline.Panel()
        .title("AQI 类别历史")
        .datasource(PROMETHEUS)
        .with_target(prom(sel("envwatch_air_aqi_category", STATION), "AQI 类别"))
        .thresholds(category_thresholds(AQI_COLOURS))
        .mappings(aqi_mapping())
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .show_value(cm.VisibilityMode.NEVER)
    )


def completeness() -> timeseries.Panel:
    hours = latest_edition("air").data["validity"]["hours_per_day"]
    return (
        history(f"数据完整率（日有效须 ≥ {hours}/24 小时）", COMPLETENESS, "percentunit")
        .max(1)
        .draw_style(cm.GraphDrawStyle.BARS)
        .thresholds(thresholds((None, BAD), (hours / 24, "transparent")))
        .thresholds_style(cb.GraphThresholdsStyleConfig().mode(cm.GraphTresholdsStyleMode.DASHED))
    )


# The station's monthly (newest month) and annual means, each with its valid days against the
# days GB 3095 requires, on both bases, as the city's worker stores them.
PERIOD_MEANS = """
WITH newest AS (SELECT max(starts) AS month FROM air_period_means WHERE period = 'month'),
shown AS (
  SELECT m.*, to_char(m.mean, 'FM99990.0') || CASE WHEN m.valid THEN '' ELSE ' *' END AS figure,
         m.days || ' / ' || m.required AS counted
  FROM air_period_means m CROSS JOIN newest n
  WHERE m.site_id = ${station:sqlstring} AND m.starts >= date_trunc('year', n.month)
    AND (m.period = 'year' OR m.starts = n.month)
)
SELECT pollutant,
       max(figure) FILTER (WHERE basis = 'realtime' AND period = 'month') AS month_mean,
       max(counted) FILTER (WHERE basis = 'realtime' AND period = 'month') AS month_days,
       max(figure) FILTER (WHERE basis = 'realtime' AND period = 'year') AS year_mean,
       max(counted) FILTER (WHERE basis = 'realtime' AND period = 'year') AS year_days,
       max(figure) FILTER (WHERE basis = 'audited' AND period = 'year') AS year_audited
FROM shown GROUP BY pollutant ORDER BY pollutant
"""
PERIOD_COLUMNS = {"pollutant": "污染物", "month_mean": "本月均值", "month_days": "有效天数/应有"}
PERIOD_COLUMNS |= {"year_mean": "年均值（实时）", "year_days": "年有效天数/应有"}
PERIOD_COLUMNS |= {"year_audited": "年均值（审核）"}


def period_means() -> table.Panel:
    edition = latest_edition("air")
    month, february, year = (required_days(m, edition) for m in (1, 2, None))
    rule = f"每月至少 {month} 天（二月 {february} 天），每年至少 {year} 天"
    return sql_table(
        "月均值与年均值（µg/m³，CO 为 mg/m³；* 未达有效天数）",
        f"日均值的月、年均值；GB 3095 有效性规定：{rule}。",
        PERIOD_MEANS,
        PERIOD_COLUMNS,
        "尚无时段均值",
    )


def build() -> Any:
    board = dashboard(UID, "空气站点详情 Air station", since="now-7d").with_variable(
        station_variable()
    )
    aqi, category, pm25, age = stats()
    return layout(
        board,
        (aqi, 0, 0, 4, 5),
        (category, 4, 0, 4, 5),
        (pm25, 8, 0, 4, 5),
        (age, 12, 0, 4, 5),
        (latest_values(), 16, 0, 8, 5),
        (history("污染物小时浓度（µg/m³，CO 为 mg/m³）", POLLUTANTS, "none"), 0, 5, 24, 9),
        (history("分指数 IAQI", iaqi_sql(), "none"), 0, 14, 12, 9),
        (category_history(), 12, 14, 12, 9),
        (completeness(), 0, 23, 24, 7),
        (period_means(), 0, 30, 24, 8),
    )
