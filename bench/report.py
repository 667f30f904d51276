"""The benchmark's table: every figure beside its ceiling from the same run, and its target."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Line:
    what: str
    key: str
    unit: str
    ceiling: str | None = None  # key of the ceiling it is compared with
    target: str = ""  # as written in the issue
    meets: Any = None  # results -> bool, when there is a target


def _ratio(results: Mapping[str, Any], key: str, ceiling: str) -> float | None:
    value, limit = results.get(key), results.get(ceiling)
    if not value or not limit:
        return None
    return float(value) / float(limit)


LINES = (
    Line("raw aiokafka consume", "raw_consume_msgs_s", "msgs/s"),
    Line("decode + validate (single)", "decode_msgs_s", "msgs/s"),
    Line("decode + validate (batch 60)", "decode_readings_s", "readings/s"),
    Line("raw binary COPY into the feed tables", "copy_rows_s", "rows/s"),
    Line("bare Faust agent, iterate only", "faust_bare_msgs_s", "msgs/s"),
    Line(
        "pipeline, single-reading msgs",
        "pipeline_single_msgs_s",
        "msgs/s",
        "faust_bare_msgs_s",
        ">= 65% of bare Faust",
        lambda r: (_ratio(r, "pipeline_single_msgs_s", "faust_bare_msgs_s") or 0) >= 0.65,
    ),
    Line(
        "pipeline, single: vs raw consume",
        "pipeline_single_msgs_s",
        "msgs/s",
        "raw_consume_msgs_s",
    ),
    Line(
        "pipeline, batches of 60",
        "pipeline_batch_readings_s",
        "readings/s",
        "decode_readings_s",
        ">= 50,000 readings/s",
        lambda r: r.get("pipeline_batch_readings_s", 0) >= 50_000,
    ),
    Line("pipeline, batches: rows stored", "pipeline_batch_rows_s", "rows/s", "copy_rows_s"),
    Line(
        "database sink (COPY, upsert on replay)",
        "sink_rows_s",
        "rows/s",
        "copy_rows_s",
        ">= 70% of raw COPY",
        lambda r: (_ratio(r, "sink_rows_s", "copy_rows_s") or 0) >= 0.70,
    ),
    Line("produce-to-alert p50", "alert_latency_p50_ms", "ms"),
    Line("produce-to-alert p95", "alert_latency_p95_ms", "ms"),
    Line(
        "produce-to-alert p99",
        "alert_latency_p99_ms",
        "ms",
        None,
        "< 250 ms at half load",
        lambda r: r.get("alert_latency_p99_ms", 1e9) < 250,
    ),
    Line(
        "state per site-parameter",
        "state_bytes_per_site_param",
        "bytes",
        None,
        "< 1 KB",
        lambda r: r.get("state_bytes_per_site_param", 1e9) < 1024,
    ),
    Line("gateway, HJ 212 packets answered", "gateway_packets_s", "packets/s"),
    Line(
        "gateway, readings into feed topics",
        "gateway_readings_s",
        "readings/s",
        "gateway_raw_produce_msgs_s",
    ),
    Line("raw aiokafka produce, same readings", "gateway_raw_produce_msgs_s", "msgs/s"),
    Line("soak: RSS growth per 1M readings", "soak_rss_growth_bytes_per_million", "bytes"),
    Line("two workers, single-reading msgs", "scaleout_msgs_s", "msgs/s", "pipeline_single_msgs_s"),
    Line(
        "scale-out ratio (two / one)",
        "scaleout_ratio",
        "x",
        None,
        ">= 1.5x",
        lambda r: r.get("scaleout_ratio", 0) >= 1.5,
    ),
)


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value < 100:
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def table(results: Mapping[str, Any]) -> str:
    header = ("measure", "value", "unit", "ceiling", "ratio", "target", "met")
    rows = [header]
    for line in LINES:
        if line.key not in results:
            continue
        ratio = _ratio(results, line.key, line.ceiling) if line.ceiling else None
        met = "" if line.meets is None else ("yes" if line.meets(results) else "NO")
        rows.append(
            (
                line.what,
                _number(results[line.key]),
                line.unit,
                f"{line.ceiling} {_number(results.get(line.ceiling))}" if line.ceiling else "",
                f"{ratio:.0%}" if ratio is not None else "",
                line.target,
                met,
            )
        )
    return _render(rows)


STAGE_RUNS = (("single-reading msgs", "stage_us_single"), ("batches of 60", "stage_us_batch"))


def stage_table(results: Mapping[str, Any]) -> str:
    """Microseconds a reading cost in each stage of the worker, for each throughput run:
    where the next bottleneck is (the worker's own clock; waits are in their stage)."""
    runs = [(name, results[key]) for name, key in STAGE_RUNS if key in results]
    if not runs:
        return ""
    stages = sorted({s for _, costs in runs for s in costs}, key=_STAGE_ORDER.index)
    header = ("stage (µs a reading)", *(name for name, _ in runs))
    rows = [header] + [
        (stage, *(f"{costs.get(stage, 0):,.2f}" for _, costs in runs)) for stage in stages
    ]
    rows.append(("all stages", *(f"{sum(costs.values()):,.2f}" for _, costs in runs)))
    return _render(rows)


_STAGE_ORDER = ("decode", "dead_letter", "state", "judge", "rows", "write", "publish", "export")


def _render(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        cells = (cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        out.append("| " + " | ".join(cells) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths))
    return "\n".join(out)


def notes(results: Mapping[str, Any]) -> str:
    """The facts behind the table that do not fit a column."""
    keys = (
        "date",
        "machine",
        "seconds_total",
        "single_messages",
        "batch_messages",
        "batch_readings_per_message",
        "alert_latency_load_msgs_s",
        "alert_latency_breaches",
        "rss_bytes",
        "memory_hours_per_site",
        "scaleout_partitions",
        "scaleout_rows_expected",
        "scaleout_rows_in_db",
        "scaleout_rows_duplicate",
        "scaleout_readings_per_worker",
        "gateway_connections",
        "gateway_packets",
        "gateway_answered",
        "gateway_values_s",
        "soak_readings",
        "soak_seconds",
        "soak_readings_s",
        "soak_rss_bytes",
    )
    return "\n".join(f"{k}: {results[k]}" for k in keys if k in results)
