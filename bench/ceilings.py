"""What the pieces can do alone, measured on the same messages in the same run.

- decode and validation: the worker's ``FeedDecoder`` on the raw bytes, nothing else;
- raw COPY: the decoded rows by binary COPY straight into ``readings`` (no staging table, no
  conflict check), the most PostgreSQL takes from one connection;
- the raw consumer and the bare Faust agent live in ``bench.kafka`` and ``bench.bare_faust``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import psycopg

from bench.payloads import Message
from schemas.decode import FeedDecoder, Rules
from schemas.feeds import FEEDS
from schemas.reference import Reference
from streams.rows import Row, rows_of


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


def rows(register: Reference, messages: Sequence[Message]) -> list[Row]:
    decode = decoders(register)
    now = datetime.now(UTC)
    out: list[Row] = []
    for m in messages:
        for reading in decode[m.feed].decode(m.value, now).readings:
            out.extend(rows_of(m.feed, reading))
    return out


_COPY = "COPY readings (ts, feed, site_id, parameter, value, ts_end) FROM STDIN (FORMAT BINARY)"
_TYPES = ("timestamptz", "text", "text", "text", "float8", "timestamptz")


def copy_rate(admin_url: str, rows: Sequence[Row], chunk: int = 50_000) -> float:
    """Rows/s of binary COPY into ``readings`` in chunks of one transaction each."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        started = time.perf_counter()
        for at in range(0, len(rows), chunk):
            with conn.transaction(), conn.cursor() as cur, cur.copy(_COPY) as copy:
                copy.set_types(_TYPES)
                for row in rows[at : at + chunk]:
                    copy.write_row(row)
        return len(rows) / (time.perf_counter() - started)
