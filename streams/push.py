"""The agencies' push tool: a CSV or JSON Lines file to a feed topic, checked line by line.

Each line is validated with the worker's own decoder before it is sent, and each rejected
line is reported with its number and reason. Valid readings are grouped per site into batch
messages (the per-message cost is paid once per batch) keyed by site, so one site's readings
stay in order on one partition.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import msgspec
import orjson

from schemas.decode import FeedDecoder
from schemas.feeds import FEEDS

_encoder = msgspec.json.Encoder()


@dataclass
class PushReport:
    lines: int = 0
    readings_sent: int = 0
    messages_sent: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # sends the broker did not confirm


def file_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, one JSON object or array) for each data line of a CSV or JSONL file."""
    if path.suffix.lower() == ".csv":
        yield from _csv_lines(path)
        return
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line.strip()


def _csv_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """CSV columns are the feed's field names; an empty cell means not measured."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            obj: dict[str, Any] = {}
            for name, cell in row.items():
                if name is None or cell is None or cell.strip() == "":
                    continue
                obj[name] = _cell(cell.strip())
            yield reader.line_num, orjson.dumps(obj)


def _cell(text: str) -> Any:
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        return text


def site_key(raw: bytes) -> bytes | None:
    """The site id of a raw line, for keying a message the pusher was told not to check."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    first = obj[0] if isinstance(obj, list) and obj else obj
    if isinstance(first, dict):
        for name in ("station_id", "section_id", "unit_id"):
            if isinstance(first.get(name), str):
                return str(first[name]).encode()
    return None


class Pusher:
    """Sends checked readings in per-site batches through a kafka-python producer."""

    def __init__(
        self,
        producer: Any,
        topic: str,
        feed: str,
        decoder: FeedDecoder | None,
        batch: int = 60,
        progress: TextIO | None = sys.stderr,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.feed = feed
        self.decoder = decoder
        self.batch = batch
        self.progress = progress
        self.report = PushReport()
        self._pending: dict[str, list[Any]] = {}
        self._undelivered: list[tuple[int, BaseException]] = []

    def push(self, lines: Iterator[tuple[int, bytes]], total: int | None = None) -> PushReport:
        now = datetime.now(UTC)
        for number, raw in lines:
            self.report.lines += 1
            if self.decoder is None:
                self._send(site_key(raw), raw, 1)
            else:
                decoded = self.decoder.decode(raw, now)
                for reject in decoded.rejects:
                    self.report.rejected.append((number, reject.reason))
                for reading in decoded.readings:
                    self._add(reading)
            if self.progress is not None and self.report.lines % 5000 == 0:
                self._show(total)
        for site in list(self._pending):
            self._flush(site)
        self.producer.flush()
        for readings, exc in self._undelivered:  # not sent after all
            self.report.failed.append(f"{readings} readings not delivered: {exc}")
            self.report.messages_sent -= 1
            self.report.readings_sent -= readings
        if self.progress is not None:
            self._show(total)
            self.progress.write("\n")
        return self.report

    def _add(self, reading: Any) -> None:
        group = self._pending.setdefault(reading.site(), [])
        group.append(reading)
        if len(group) >= self.batch:
            self._flush(reading.site())

    def _flush(self, site: str) -> None:
        group = self._pending.pop(site, [])
        if group:
            value = _encoder.encode(group[0] if len(group) == 1 else group)
            self._send(site.encode(), value, len(group))

    def _send(self, key: bytes | None, value: bytes, readings: int) -> None:
        future = self.producer.send(self.topic, key=key, value=value)
        future.add_errback(self._failed, readings)
        self.report.messages_sent += 1
        self.report.readings_sent += readings

    def _failed(self, readings: int, exc: BaseException) -> None:
        """A message the broker never confirmed (called on the producer's thread)."""
        self._undelivered.append((readings, exc))

    def _show(self, total: int | None) -> None:
        done = self.report.lines
        share = f" ({100 * done / total:.0f}%)" if total else ""
        self.progress.write(  # type: ignore[union-attr]
            f"\r{done} lines{share}, {self.report.readings_sent} readings sent, "
            f"{len(self.report.rejected)} rejected"
        )
        self.progress.flush()  # type: ignore[union-attr]


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip()) - (path.suffix.lower() == ".csv")


def model_fields_help(feed: str) -> str:
    """The column names a file for this feed may use."""
    info = msgspec.inspect.type_info(FEEDS[feed].reading)
    return ", ".join(f.encode_name for f in info.fields)  # type: ignore[attr-defined]
