"""What the pieces can do alone, measured on the same messages in the same run.

- decode and validation: the worker's ``FeedDecoder`` on the raw bytes, nothing else;
- raw COPY: the decoded rows by binary COPY straight into their feed tables (no savepoint, no
  staging table, no conflict check), the most PostgreSQL takes from one connection; and the
  worker's sink writing the same rows, for the sink's share of it;
- the raw consumer and the bare Faust agent live in ``bench.kafka`` and ``bench.bare_faust``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import psycopg

from bench.payloads import Message
from schemas import tables
from schemas.decode import FeedDecoder, Rules
from schemas.feeds import FEEDS
from schemas.reference import Reference
from schemas.resent import Source
from streams.rows import Row, row_of
from streams.sink import ReadingSink


def decoders(register: Reference) -> dict[str, FeedDecoder]:
    return {
        feed: FeedDecoder(
            FEEDS[feed],
            Rules(
                known_sites=register.sites(feed),
                earliest=datetime(2000, 1, 1, tzinfo=UTC),
                max_future=timedelta(minutes=10),
            ),
        )
        for feed in FEEDS
    }


def decode_rate(register: Reference, messages: Sequence[Message]) -> tuple[float, float]:
    """(messages/s, readings/s) of decoding and validating the messages."""
    decode = decoders(register)
    now = datetime.now(UTC)
    started = time.perf_counter()
    readings = 0
    for m in messages:
        readings += len(decode[m.feed].decode(m.value, now).readings)
    seconds = time.perf_counter() - started
    return len(messages) / seconds, readings / seconds


def rows(register: Reference, messages: Sequence[Message]) -> dict[str, list[Row]]:
    """The messages' readings as rows of their feed tables, by feed."""
    decode = decoders(register)
    now = datetime.now(UTC)
    out: dict[str, list[Row]] = defaultdict(list)
    for m in messages:
        out[m.feed].extend(row_of(m.feed, r) for r in decode[m.feed].decode(m.value, now).readings)
    return out


def _batches(rows: Mapping[str, Sequence[Row]], size: int) -> list[tuple[str, Sequence[Row]]]:
    return [(f, rs[at : at + size]) for f, rs in rows.items() for at in range(0, len(rs), size)]


def copy_rate(admin_url: str, rows: Mapping[str, Sequence[Row]], chunk: int = 50_000) -> float:
    """Rows/s of binary COPY into the feed tables, in chunks of one transaction each."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        started = time.perf_counter()
        for feed, chunk_rows in _batches(rows, chunk):
            statement = tables.copy(FEEDS[feed])
            with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
                copy.set_types(tables.copy_types(FEEDS[feed]))
                for row in chunk_rows:
                    copy.write_row(row)
        return sum(map(len, rows.values())) / (time.perf_counter() - started)


async def sink_rate(url: str, rows: Mapping[str, Sequence[Row]], batch: int) -> float:
    """Rows/s of the worker's sinks writing the same rows, ``batch`` rows a write (connecting
    included, which the COPY ceiling does before its clock starts)."""
    sinks = {feed: ReadingSink(url, FEEDS[feed]) for feed in rows}
    try:
        started = time.perf_counter()
        stored = 0
        for n, (feed, batch_rows) in enumerate(_batches(rows, batch)):
            origins = [Source(f"bench.{feed}", 0, n * batch + i) for i in range(len(batch_rows))]
            stored += (await sinks[feed].write(batch_rows, origins=origins)).new
        return stored / (time.perf_counter() - started)
    finally:
        for sink in sinks.values():
            await sink.close()
