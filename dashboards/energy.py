"""Energy: intensity by county and by unit against targets, consumption against the annual cap.

The dashboard's time range is the year so far, so every SQL total is year-to-date. Metered
carriers become tonnes of standard coal with the GB/T 2589 coefficients of
``alerts/standards`` (electricity at its equivalent value, as the worker converts it).
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import bargauge, table, timeseries
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from alerts.targets import load_targets
from dashboards.command_centre import ENERGY, target_gauge
from dashboards.common import (
    AQI_COLOURS,
    BAD,
    MIXED,
    OK,
    POSTGRES,
    PROMETHEUS,
    big_text,
    by_parameter,
    dashboard,
    editions,
    join_on,
    layout,
    organize,
    prom,
    sql,
    thresholds,
    values_sql,
)
from schemas import tables
from schemas.feeds import FEEDS

UID = "envwatch-energy"
INTENSITY = "envwatch_energy_intensity"


def coefficients() -> str:
    rows: list[tuple[object, ...]] = []
    for ed in editions("energy"):
        until = str(ed.effective_to or "9999-12-31")
        table_ = dict(ed.data["coefficients"]) | {
            "electricity_kwh": ed.data["electricity_kwh"]["equivalent"]
        }
        for carrier, kgce in sorted(table_.items()):
            rows.append((str(ed.effective_from), until, carrier, float(kgce)))
    return values_sql(rows, ("valid_from", "valid_to", "parameter", "kgce"))


def units_sql() -> str:
    """Year-to-date tce, output and intensity of each unit, with its quota and annual cap."""
    return f"""
WITH period AS (
  SELECT r.site_id, v.parameter, v.value, r.{FEEDS["energy"].time_column} AS ts
  FROM {tables.table(FEEDS["energy"])} r
  {by_parameter("energy", "r")}
  WHERE v.valid AND $__timeFilter(r.{FEEDS["energy"].time_column})
), tce AS (
  SELECT p.site_id, sum(p.value * t.kgce) / 1000 AS tce
  FROM period p
  JOIN {coefficients()}
    ON t.parameter = p.parameter
   AND (p.ts AT TIME ZONE 'Asia/Shanghai')::date BETWEEN t.valid_from::date AND t.valid_to::date
  GROUP BY p.site_id
), output AS (
  SELECT site_id, sum(value) AS output FROM period
  WHERE parameter = 'output_10k_yuan' GROUP BY site_id
)
SELECT s.site_id AS site, s.name_zh AS name, c.name_zh AS county, s.attrs->>'industry' AS industry,
       tce.tce, output.output, tce.tce / nullif(output.output, 0) AS intensity,
       (s.attrs->>'intensity_quota_tce_per_10k_yuan')::float8 AS quota,
       tce.tce / nullif(output.output, 0)
         / nullif((s.attrs->>'intensity_quota_tce_per_10k_yuan')::float8, 0) AS of_quota,
       (s.attrs->>'annual_cap_tce')::float8 AS cap,
       tce.tce / nullif((s.attrs->>'annual_cap_tce')::float8, 0) AS of_cap
FROM sites s
JOIN counties c ON c.code = s.county
JOIN tce ON tce.site_id = s.site_id
LEFT JOIN output ON output.site_id = s.site_id
WHERE s.feed = 'energy'
ORDER BY s.site_id
"""


def county_sql() -> str:
    return f"""
WITH units AS ({units_sql().replace("ORDER BY s.site_id", "")})
SELECT county, sum(tce) / nullif(sum(output), 0) AS intensity
FROM units GROUP BY county ORDER BY county
"""


def city_goal() -> float:
    """The plan's intensity goal; the base year's figure until the province sets a reduction."""
    t = load_targets()
    return float(t.intensity_base * (1 - (t.intensity_reduction or 0)))


def ratio_steps() -> Any:
    return thresholds((None, OK), (0.9, AQI_COLOURS[1]), (1.0, BAD))


def by_county() -> bargauge.Panel:
    return (
        bargauge.Panel()
        .title(f"各区县重点用能单位能耗强度（年初至今，tce/万元；目标 {city_goal():.3f}）")
        .datasource(POSTGRES)
        .with_target(sql(county_sql()))
        .orientation(cm.VizOrientation.HORIZONTAL)
        .reduce_options(_all_rows("intensity"))
        .decimals(3)
        .min(0)
        .thresholds(thresholds((None, OK), (city_goal(), BAD)))
        .text(big_text(24, 16))
    )


def _all_rows(field: str) -> Any:
    return cb.ReduceDataOptions().values(True).fields(f"/^{field}$/").calcs([])


def units() -> table.Panel:
    rename = {"name": "单位", "county": "区县", "industry": "行业", "intensity": "强度（年初至今）"}
    rename |= {"Value": "强度（最新周期）", "quota": "定额", "of_quota": "强度/定额"}
    rename |= {"tce": "能耗 tce", "cap": "年度上限 tce", "of_cap": "能耗/上限"}
    hide = ("Time", "__name__", "site", "output", "instance", "job")
    ratio = [
        dm.DynamicConfigValue(id_val="unit", value="percentunit"),
        dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-background"}),
        dm.DynamicConfigValue(id_val="thresholds", value=ratio_steps().build()),
    ]
    return (
        table.Panel()
        .title("重点用能单位：强度对定额")
        .datasource(MIXED)
        .with_target(sql(units_sql()))
        .with_target(prom(INTENSITY, ref_id="B", table=True))
        .with_transformation(join_on("site"))
        .with_transformation(organize(rename, hide))
        .decimals(3)
        .override_by_name("强度/定额", ratio)
        .override_by_name("能耗/上限", ratio)
    )


def against_cap() -> bargauge.Panel:
    return (
        bargauge.Panel()
        .title("年初至今能耗 / 年度上限")
        .datasource(POSTGRES)
        .with_target(sql(units_sql()))
        .orientation(cm.VizOrientation.HORIZONTAL)
        .display_mode(cm.BarGaugeDisplayMode.GRADIENT)
        .reduce_options(_all_rows("of_cap"))
        .unit("percentunit")
        .min(0)
        .max(1)
        .thresholds(ratio_steps())
    )


def live_intensity() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("各单位能耗强度（最新周期，tce/万元）")
        .datasource(PROMETHEUS)
        .with_target(prom(INTENSITY, "{{site}}"))
        .decimals(3)
        .min(0)
    )


def build() -> Any:
    board = dashboard(UID, "能源双控 Energy", refresh="5m", since="now/y")
    return layout(
        board,
        (target_gauge(ENERGY._replace(title="全市单位GDP能耗")), 0, 0, 6, 8),
        (by_county(), 6, 0, 18, 8),
        (units(), 0, 8, 24, 10),
        (against_cap(), 0, 18, 12, 10),
        (live_intensity(), 12, 18, 12, 10),
    )
