"""``python -m bench.storage [DATABASE_URL]``: the two storage layouts on 100,000 air readings.

The old layout (``readings``, one row per parameter) against the feed table (``air_readings``,
one row per reading): rows, bytes on disk (table, indexes and TOAST; on TimescaleDB the
hypertable, then again with its chunks compressed) and binary COPY rates; and the worker's
sink against raw COPY into ``air_readings``, the same rows in transactions of 3,000 readings.
Rates are medians of five alternating runs, each into an emptied table. On the embedded
PostgreSQL by default, or on an empty database of an existing server (the owner's URL): it is
migrated, filled, and left holding one load of each layout.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench import ceilings
from bench.payloads import site_messages, sites, write_register
from envwatch.embedded import EmbeddedPostgres
from schemas.feed import Reading
from schemas.migrate import migrate
from schemas.reference import load_reference
from streams.rows import Row, row_of, rows_of

READINGS = 100_000
PER_MESSAGE = 60
PER_TRANSACTION = 3_000  # readings
RUNS = 5
START = datetime(2018, 1, 1, tzinfo=UTC)
OLD_COPY = "COPY readings (ts, feed, site_id, parameter, value, ts_end) FROM STDIN (FORMAT BINARY)"
OLD_TYPES = ("timestamptz", "text", "text", "text", "float8", "timestamptz")


def air_readings(root: Path) -> list[Reading]:
    """The simulator's hourly readings of 2,400 stations (clones of the shipped ones)."""
    register = load_reference(write_register(root / "register", {"air": 100}))
    decode = ceilings.decoders(register)["air"]
    made = site_messages(sites(register)["air"], -(-READINGS // PER_MESSAGE), PER_MESSAGE, START)
    now = datetime.now(UTC)
    return [r for m in made for r in decode.decode(m.value, now).readings][:READINGS]


def old_copy_rate(url: str, rows: Sequence[Row], per_transaction: int) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        for at in range(0, len(rows), per_transaction):
            with conn.transaction(), conn.cursor() as cur, cur.copy(OLD_COPY) as copy:
                copy.set_types(OLD_TYPES)
                for row in rows[at : at + per_transaction]:
                    copy.write_row(row)
        return len(rows) / (time.perf_counter() - started)


def measure(url: str, readings: Sequence[Reading]) -> dict[str, Any]:
    migrate(url)
    old = [row for r in readings for row in rows_of("air", r)]
    new = {"air": [row_of("air", r) for r in readings]}
    old_per_transaction = PER_TRANSACTION * len(old) // len(readings)
    with psycopg.connect(url, autocommit=True) as conn:
        timescale = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        timescale_path = timescale.fetchone() is not None
        for table in ("readings", "air_readings"):
            if conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(_id(table))).fetchone():
                raise SystemExit(f"{table} holds rows: bench.storage needs an empty database")

    def run(table: str, what: Callable[[], float]) -> float:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("TRUNCATE {}").format(_id(table)))
        return what()

    rates: dict[str, list[float]] = {"old": [], "copy": [], "sink": []}
    for _ in range(RUNS):
        rates["old"].append(
            run("readings", lambda: old_copy_rate(url, old, old_per_transaction))
            * len(readings)
            / len(old)
        )
        rates["copy"].append(
            run("air_readings", lambda: ceilings.copy_rate(url, new, PER_TRANSACTION))
        )
        rates["sink"].append(
            run(
                "air_readings",
                lambda: asyncio.run(ceilings.sink_rate(url, new, PER_TRANSACTION)),
            )
        )
    out: dict[str, Any] = {"path": "timescaledb" if timescale_path else "plain"}
    out |= {f"{k}_readings_s": round(statistics.median(v)) for k, v in rates.items()}
    out["sink_of_copy"] = round(out["sink_readings_s"] / out["copy_readings_s"], 3)
    with psycopg.connect(url, autocommit=True) as conn:
        for name, table in (("old", "readings"), ("new", "air_readings")):
            count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(_id(table))).fetchone()
            out[f"{name}_rows"] = count[0] if count else 0
            out[f"{name}_bytes"] = _size(conn, table, timescale_path)
            if timescale_path:
                conn.execute("SELECT compress_chunk(c, true) FROM show_chunks(%s) c", (table,))
                out[f"{name}_bytes_compressed"] = _size(conn, table, timescale_path)
    out["readings"] = len(readings)
    return out


def _id(table: str) -> sql.Identifier:
    return sql.Identifier(table)


def _size(conn: psycopg.Connection, table: str, timescale: bool) -> int:
    function = sql.Identifier("hypertable_size" if timescale else "pg_total_relation_size")
    row = conn.execute(sql.SQL("SELECT {}(%s::regclass)").format(function), (table,)).fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="envwatch-bench-storage-") as tmp:
        root = Path(tmp)
        readings = air_readings(root)
        if len(sys.argv) > 1:
            results = measure(sys.argv[1], readings)
        else:
            server = EmbeddedPostgres(root / "pg").start()
            try:
                results = measure(server.url(), readings)
            finally:
                server.stop()
    for key, value in results.items():
        print(f"{key}: {value:,}" if isinstance(value, int) else f"{key}: {value}")


if __name__ == "__main__":
    main()
