"""Pipeline health: is data flowing, is anything rejected, slow or behind, what is alerting.

Everything here is the worker's own metrics and Prometheus's ``ALERTS``; no SQL, so the board
still works when the database is the thing that is down.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import bargauge, stat, timeseries
from grafana_foundation_sdk.models import common as cm

from dashboards.common import (
    AQI_COLOURS,
    BAD,
    OK,
    PROMETHEUS,
    WORKER_JOB,
    dashboard,
    last_value,
    layout,
    now_stat,
    prom,
    sel,
    thresholds,
)

UID = "envwatch-pipeline-health"
RATE = "5m"


def rate(metric: str, by: str) -> str:
    return f"sum by ({by}) (rate({metric}[{RATE}]))"


def series(title: str, unit: str, *queries: tuple[str, str]) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).datasource(PROMETHEUS).unit(unit).min(0)
    for n, (expr, legend) in enumerate(queries):
        panel = panel.with_target(prom(expr, legend, chr(ord("A") + n)))
    return panel


def health_stat(title: str, expr: str, unit: str, steps: Any) -> stat.Panel:
    return now_stat(title, expr, unit, text=(36, 16), sparkline=False).thresholds(steps)


def stats() -> list[stat.Panel]:
    warn = AQI_COLOURS[2]
    return [
        health_stat(
            "运行中的 worker",
            f"sum({sel('up', WORKER_JOB)})",
            "none",
            thresholds((None, BAD), (1, warn), (2, OK)),
        ),
        health_stat(
            "距上次写库",
            "time() - max(envwatch_last_write_timestamp_seconds)",
            "s",
            thresholds((None, OK), (300, warn), (900, BAD)),
        ),
        health_stat(
            "积压消息",
            "sum(envwatch_consumer_lag)",
            "short",
            thresholds((None, OK), (10000, warn), (100000, BAD)),
        ),
        health_stat(
            "写库失败（1 小时）",
            "sum(increase(envwatch_db_write_errors_total[1h]))",
            "short",
            thresholds((None, OK), (1, warn), (10, BAD)),
        ),
        health_stat(
            "停报站点（2 小时无数据）",
            "count(time() - envwatch_site_last_seen_timestamp_seconds > 7200) or vector(0)",
            "short",
            thresholds((None, OK), (1, warn), (5, BAD)),
        ),
    ]


def quantile(q: float, metric: str) -> str:
    return f"histogram_quantile({q}, sum by (le, feed) (rate({metric}_bucket[{RATE}])))"


def alerts_by_state() -> bargauge.Panel:
    return (
        bargauge.Panel()
        .title("告警状态")
        .datasource(PROMETHEUS)
        .with_target(
            prom(
                "count by (alertstate, severity) (ALERTS)",
                "{{alertstate}} {{severity}}",
                instant=True,
            )
        )
        .orientation(cm.VizOrientation.HORIZONTAL)
        .thresholds(thresholds((None, AQI_COLOURS[2])))
        .reduce_options(last_value())
        .no_value("无告警")
    )


def build() -> Any:
    s = stats()
    return layout(
        dashboard(UID, "数据管道 Pipeline health", refresh="30s", since="now-6h"),
        *((panel, 5 * i if i < 4 else 20, 0, 5 if i < 4 else 4, 4) for i, panel in enumerate(s)),
        (
            series(
                "读数 / 秒（按数据源）",
                "reqps",
                (rate("envwatch_readings_consumed_total", "feed"), "读数 {{feed}}"),
                (rate("envwatch_rows_written_total", "feed"), "新写入 {{feed}}"),
                (rate("envwatch_rows_duplicate_total", "feed"), "重复 {{feed}}"),
            ),
            0,
            4,
            12,
            9,
        ),
        (
            series(
                "死信 / 秒（按原因）",
                "reqps",
                (rate("envwatch_dead_letters_total", "feed, reason"), "{{feed}} {{reason}}"),
            ),
            12,
            4,
            12,
            9,
        ),
        (
            series(
                "写库耗时",
                "s",
                (quantile(0.5, "envwatch_db_write_seconds"), "p50 {{feed}}"),
                (quantile(0.95, "envwatch_db_write_seconds"), "p95 {{feed}}"),
            ),
            0,
            13,
            8,
            9,
        ),
        (
            series(
                "每批读数",
                "short",
                (quantile(0.5, "envwatch_batch_readings"), "p50 {{feed}}"),
            ),
            8,
            13,
            8,
            9,
        ),
        (
            series(
                "消费积压（按主题）",
                "short",
                ("sum by (topic) (envwatch_consumer_lag)", "{{topic}}"),
            ),
            16,
            13,
            8,
            9,
        ),
        (alerts_by_state(), 0, 22, 24, 6),
    )
