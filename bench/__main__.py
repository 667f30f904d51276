"""``python -m bench``: one run on the embedded stack; table on stdout, JSON to $BENCH_OUT.

Order: ceilings (decode, COPY, raw consume, bare Faust), the worker on single-reading and
batched messages, alert latency at half the single-reading maximum, two workers in one group,
memory per site, and a soak of 2 million readings through one worker (``BENCH_SOAK_READINGS``;
0 leaves it out). Sizes are bounded so that the run without the soak stays within a few
minutes here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ceilings, gateway, latency, memory, pipeline, soak
from bench.kafka import raw_consume
from bench.payloads import messages, sites, write_register
from bench.report import notes, stage_table, table
from bench.stack import PARTITIONS, Stack
from schemas.feeds import FEEDS
from schemas.reference import load_reference

SINGLE = int(os.environ.get("BENCH_SINGLE", "20000"))  # single-reading messages per run
BATCH = int(os.environ.get("BENCH_BATCH", "1500"))  # messages of 60 readings
PER_BATCH = 60
CLONES = 100  # copies of each shipped site in the throughput register (6,500 sites)
# Hourly readings per station in the memory run: one keeps the run short; the state of a
# station that has reported for a day is larger (see the README).
MEMORY_HOURS = int(os.environ.get("BENCH_MEMORY_HOURS", "1"))
SOAK = int(os.environ.get("BENCH_SOAK_READINGS", "2000000"))  # 0: no soak
LATENCY_S = 10.0
GATEWAY_CONNECTIONS = int(os.environ.get("BENCH_GATEWAY_CONNECTIONS", "1000"))
GATEWAY_PACKETS_EACH = int(os.environ.get("BENCH_GATEWAY_PACKETS_EACH", "20"))

# One time window per run, so that rows never collide and counts are each run's own.
WINDOW = {
    "soak": datetime(2017, 1, 1, tzinfo=UTC),
    "copy": datetime(2018, 1, 1, tzinfo=UTC),
    "memory": datetime(2019, 1, 1, tzinfo=UTC),
    "scaleout": datetime(2020, 1, 1, tzinfo=UTC),
    "single": datetime(2021, 1, 1, tzinfo=UTC),
    "batch": datetime(2022, 1, 1, tzinfo=UTC),
    "latency": datetime(2023, 1, 1, tzinfo=UTC),
    "breach": datetime(2024, 1, 1, tzinfo=UTC),
    "warm-bare": datetime(2016, 1, 1, tzinfo=UTC),
    "warm-pipe": datetime(2016, 4, 1, tzinfo=UTC),
    "warm-scale": datetime(2016, 7, 1, tzinfo=UTC),
    "gateway": datetime(2015, 1, 1, tzinfo=UTC),
}

OUT = Path(os.environ.get("BENCH_OUT", "bench-results.json"))


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().split()[1]
    return (
        f"{os.cpu_count()} cores ({cpu}), {int(mem) // 1024 // 1024} GB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def say(text: str, results: dict[str, Any] | None = None) -> None:
    """Progress on stdout; the results so far to $BENCH_OUT, so a failed run keeps them."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)
    if results is not None:
        OUT.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


async def run(root: Path) -> dict[str, Any]:
    began = time.perf_counter()
    r: dict[str, Any] = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    r["machine"] = machine()
    stack = Stack(root).start()
    try:
        register_dir = write_register(root / "register", dict.fromkeys(FEEDS, CLONES))
        register = load_reference(register_dir)
        say("generating messages")
        single = messages(register, SINGLE, 1, WINDOW["single"])
        batch = messages(register, BATCH, PER_BATCH, WINDOW["batch"])
        r |= {"single_messages": len(single), "batch_messages": len(batch)}
        r["batch_readings_per_message"] = PER_BATCH

        say("ceilings: decode, COPY", r)
        r["decode_msgs_s"], _ = ceilings.decode_rate(register, single)
        _, r["decode_readings_s"] = ceilings.decode_rate(register, batch)
        copy_rows = ceilings.rows(register, messages(register, 1000, PER_BATCH, WINDOW["copy"]))
        r["copy_rows_s"] = ceilings.copy_rate(stack.admin_url, copy_rows)

        say("ceilings: bare Faust agent", r)
        bare_settings = stack.settings("bare", register_dir)
        bare = stack.bare_faust(bare_settings, "bare").wait_up()
        timed = await pipeline.bare(bare_settings, bare, register, single, WINDOW["warm-bare"])
        r["faust_bare_msgs_s"] = timed.rate(len(single))
        stack.stop([bare])
        say("ceilings: raw consume", r)
        r["raw_consume_msgs_s"] = await raw_consume(bare_settings, FEEDS, len(single))

        say("pipeline: single-reading messages", r)
        pipe_settings = stack.settings("pipe", register_dir)
        worker = stack.worker(pipe_settings, "worker").wait_up()
        before = pipeline.stage_seconds([worker])
        timed = await pipeline.worker_run(
            pipe_settings, [worker], register, single, WINDOW["warm-pipe"]
        )
        r["pipeline_single_msgs_s"] = timed.rate(len(single))
        r["stage_us_single"] = pipeline.stage_costs(before, pipeline.stage_seconds([worker]))

        say("pipeline: batches of 60 readings", r)
        write_s = worker.metric("envwatch_db_write_seconds_sum")
        written = worker.metric("envwatch_rows_written_total")
        before = pipeline.stage_seconds([worker])
        timed = await pipeline.worker_run(pipe_settings, [worker], register, batch, None)
        r["stage_us_batch"] = pipeline.stage_costs(before, pipeline.stage_seconds([worker]))
        r["pipeline_batch_readings_s"] = timed.rate(len(batch) * PER_BATCH)
        r["pipeline_batch_msgs_s"] = timed.rate(len(batch))
        r["pipeline_batch_rows_s"] = timed.rate(sum(m.rows for m in batch))
        # The sink's own rate in the real pipeline: rows stored per second spent writing.
        r["sink_rows_s"] = (worker.metric("envwatch_rows_written_total") - written) / (
            worker.metric("envwatch_db_write_seconds_sum") - write_s
        )

        say("latency: breaches at half the single-reading maximum", r)
        rate = r["pipeline_single_msgs_s"] / 2
        background = messages(register, int(rate * LATENCY_S), 1, WINDOW["latency"])
        sections = [s.id for s in sites(register)["water"]]
        lat = await latency.measure(pipe_settings, background, sections, rate, WINDOW["breach"])
        r |= {
            "alert_latency_p50_ms": lat.p50_ms,
            "alert_latency_p95_ms": lat.p95_ms,
            "alert_latency_p99_ms": lat.p99_ms,
            "alert_latency_max_ms": lat.max_ms,
            "alert_latency_breaches": lat.breaches,
            "alert_latency_load_msgs_s": round(lat.rate_msgs_s),
        }
        stack.stop([worker])

        say("scale-out: two workers, one group, 8 partitions", r)
        scale_settings = stack.settings("scale", register_dir)
        workers = [stack.worker(scale_settings, f"scale-{n}") for n in range(2)]
        for w in workers:
            w.wait_up()
        scale_run = messages(register, SINGLE, 1, WINDOW["scaleout"])
        timed = await pipeline.worker_run(
            scale_settings, workers, register, scale_run, WINDOW["warm-scale"]
        )
        r["scaleout_msgs_s"] = timed.rate(len(scale_run))
        r["scaleout_ratio"] = r["scaleout_msgs_s"] / r["pipeline_single_msgs_s"]
        air = scale_settings.topic("air")
        r["scaleout_partitions"] = pipeline.split(workers, air, PARTITIONS)
        expected = sum(m.rows for m in scale_run)
        r["scaleout_rows_expected"] = expected
        r["scaleout_rows_in_db"] = pipeline.rows_between(
            stack.admin_url,
            [m.key.decode() for m in scale_run],
            WINDOW["scaleout"],
            WINDOW["single"],
        )
        r["scaleout_rows_duplicate"] = sum(
            w.metric("envwatch_rows_duplicate_total") for w in workers
        )
        r["scaleout_readings_per_worker"] = [
            w.metric("envwatch_readings_consumed_total") for w in workers
        ]
        stack.stop(workers)

        say("gateway: HJ 212 loggers into the feed topics, and the raw producer", r)
        gw = await gateway.measure(
            stack,
            stack.settings("gateway", register_dir),
            register,
            GATEWAY_CONNECTIONS,
            GATEWAY_PACKETS_EACH,
            WINDOW["gateway"],
        )
        r |= {
            "gateway_packets_s": gw.packets_s,
            "gateway_readings_s": gw.readings_produced / gw.seconds,
            "gateway_values_s": gw.readings_produced * len(gateway.VALUES) / gw.seconds,
            "gateway_raw_produce_msgs_s": gw.raw_produce_msgs_s,
            "gateway_connections": gw.connections,
            "gateway_packets": gw.packets,
            "gateway_answered": gw.answered,
        }

        say("memory: state of 1k, 10k, 100k stations", r)
        memory_dir = write_register(
            root / "register-memory", {"air": -(-memory.STEPS[-1] // 24), "water": 1, "energy": 1}
        )
        mem_settings = stack.settings("memory", memory_dir)
        mem_worker = stack.worker(mem_settings, "memory").wait_up(120)
        stations = sites(load_reference(memory_dir))["air"]
        mem = await memory.measure(
            mem_settings, mem_worker, stations, WINDOW["memory"], MEMORY_HOURS
        )
        r["state_bytes_per_site_param"] = mem.bytes_per_site_param
        r["rss_bytes"] = {"baseline": mem.baseline_bytes} | {
            f"{sites_}_sites": rss for sites_, rss in mem.rss_bytes.items()
        }
        r["memory_hours_per_site"] = MEMORY_HOURS
        stack.stop([mem_worker])

        if SOAK:
            say(f"soak: {SOAK:,} readings through one worker", r)
            soak_settings = stack.settings("soak", register_dir)
            soak_worker = stack.worker(soak_settings, "soak").wait_up()
            soaked = await soak.measure(
                soak_settings, soak_worker, register, WINDOW["soak"], SOAK, PER_BATCH
            )
            r |= soak.figures(soaked)
            stack.stop([soak_worker])
    finally:
        stack.stop()
    r["seconds_total"] = round(time.perf_counter() - began)
    return r


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    out = OUT
    with tempfile.TemporaryDirectory(prefix="envwatch-bench-") as tmp:
        results = asyncio.run(run(Path(tmp)))
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print()
    print(table(results))
    print()
    print(stage_table(results))
    print()
    print(notes(results))
    print(f"\nJSON: {out}")


if __name__ == "__main__":
    main()
