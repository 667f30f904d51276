"""Throughput runs: the bare Faust agent, the full worker (single and batched messages), and
two workers in one consumer group.

Every run on the same register, partitions and message shapes; each in its own time window,
so no run's rows collide with another's and every row count is the run's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg
from psycopg import sql

from bench.payloads import Message, messages
from bench.runs import Timed, timed, warm_up
from bench.stack import Process, wait_until
from schemas import tables
from schemas.feeds import FEEDS
from schemas.reference import Reference
from streams.settings import Settings

ROWS = "envwatch_rows_written_total"
BARE = "bench_bare_events_total"


def warm_rounds(register: Reference, start: datetime, per_message: int) -> list[list[Message]]:
    """Warm-up messages over many sites, so every partition gets some; a few rounds."""
    made = messages(register, 400 * 3, per_message, start)
    return [made[i::3] for i in range(3)]


async def bare(
    settings: Settings,
    process: Process,
    register: Reference,
    run: Sequence[Message],
    warm: datetime,
) -> Timed:
    await warm_up(settings, [process], BARE, warm_rounds(register, warm, 1), lambda m: 1)
    return await timed(settings, [process], BARE, run, len(run))


async def worker_run(
    settings: Settings,
    processes: Sequence[Process],
    register: Reference,
    run: Sequence[Message],
    warm: datetime | None,
) -> Timed:
    """Time the workers until every row of ``run`` is stored (their rows-written counter)."""
    if warm is not None:
        await warm_up(settings, processes, ROWS, warm_rounds(register, warm, 1), lambda m: m.rows)
    return await timed(settings, processes, ROWS, run, sum(m.rows for m in run))


def rows_between(
    admin_url: str, prefix_sites: Sequence[str], start: datetime, end: datetime
) -> int:
    # By a reading's last time, the end of an energy period: a period that holds a run's first
    # moment starts in the previous run's window, while its end is in the run's own.
    count = 0
    with psycopg.connect(admin_url) as conn:
        for feed in FEEDS.values():
            last = sql.Identifier([c.name for c in feed.columns if c.kind == "time"][-1])
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*) FROM {} WHERE {} >= %s AND {} < %s AND site_id = ANY(%s)"
                ).format(sql.Identifier(tables.table(feed)), last, last),
                (start, end, list(prefix_sites)),
            ).fetchone()
            assert row is not None
            count += int(row[0])
    return count


def owned_partitions(process: Process, topic: str) -> set[int]:
    samples = process.samples("envwatch_consumer_lag")
    return {int(dict(labels)["partition"]) for labels in samples if dict(labels)["topic"] == topic}


def split(processes: Sequence[Process], topic: str, partitions: int) -> list[list[int]]:
    """The partitions of ``topic`` each worker owns, once their lag export covers them all."""

    def check() -> list[list[int]] | None:
        owned = [sorted(owned_partitions(p, topic)) for p in processes]
        return owned if sum(len(o) for o in owned) >= partitions else None

    return wait_until(check, 20, f"lag series of all partitions of {topic}", every_s=0.5)


STAGES = "envwatch_stage_seconds_total"
READINGS = "envwatch_readings_consumed_total"


def stage_seconds(processes: Sequence[Process]) -> tuple[dict[str, float], float]:
    """Seconds the workers spent in each stage of their batches so far, and the readings."""
    out: dict[str, float] = {}
    for process in processes:
        for labels, value in process.samples(STAGES).items():
            stage = dict(labels)["stage"]
            out[stage] = out.get(stage, 0.0) + value
    return out, sum(p.metric(READINGS) for p in processes)


def stage_costs(
    before: tuple[dict[str, float], float], after: tuple[dict[str, float], float]
) -> dict[str, float]:
    """Microseconds a reading cost in each stage between two ``stage_seconds`` readings."""
    readings = after[1] - before[1]
    if readings <= 0:
        return {}
    return {
        stage: round(1e6 * (seconds - before[0].get(stage, 0.0)) / readings, 2)
        for stage, seconds in after[0].items()
    }
