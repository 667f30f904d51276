"""The agencies' push tool: a CSV or JSON Lines file to a feed topic, checked line by line.

Each line is validated with the worker's own decoder before it is sent, and each rejected
line is reported with its number and reason. Valid readings are grouped per site into batch
messages (the per-message cost is paid once per batch) keyed by site, so one site's readings
stay in order on one partition.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import charset_normalizer
import msgspec
import orjson

from schemas.decode import FeedDecoder
from schemas.feeds import FEEDS

_encoder = msgspec.json.Encoder()
PROGRESS_EVERY = 200  # lines between two calls of the progress callback


@dataclass
class PushReport:
    lines: int = 0
    readings_sent: int = 0
    messages_sent: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # sends the broker did not confirm


class FileRefusedError(ValueError):
    """A file the push tool will not send; the message says why and what to do."""


# What the bureau's agencies' files come in: UTF-8 (with or without a BOM) and the Chinese
# national encodings GBK and GB2312, of which GB18030 is the superset that reads them all.
ENCODINGS = ("utf_8", "gb18030")
SAMPLE_BYTES = 1 << 20  # detection reads the start of the file, cut at a line end


@dataclass(frozen=True)
class ReadingsFile:
    """A CSV or JSON Lines file of one feed's readings, checked before anything is sent."""

    path: Path
    feed: str
    encoding: str
    detected: bool  # found by charset-normalizer rather than given

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """(line number, one JSON object or array, UTF-8) for each data line."""
        if self.path.suffix.lower() == ".csv":
            yield from _csv_lines(self)
            return
        for number, text in _text_lines(self):
            if text.strip():
                yield number, text.strip().encode()


def open_readings(path: Path, feed: str, encoding: str | None = None) -> ReadingsFile:
    """The file with its encoding (detected unless given); FileRefusedError when it cannot be read
    or, for CSV, has a column the feed does not know."""
    if encoding is None:
        found = ReadingsFile(path, feed, _detect(path), detected=True)
    else:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise FileRefusedError(
                f"unknown encoding {encoding!r} (e.g. utf-8, gbk, gb18030)"
            ) from None
        found = ReadingsFile(path, feed, encoding, detected=False)
    if path.suffix.lower() == ".csv":
        _check_header(found)
    return found


def _detect(path: Path) -> str:
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if len(sample) == SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]  # no character cut in two
    best = charset_normalizer.from_bytes(sample, cp_isolation=list(ENCODINGS)).best()
    if best is None:
        raise FileRefusedError(
            f"{path}: cannot tell its text encoding; give it with --encoding (utf-8, gbk, ...)"
        )
    if best.encoding == "utf_8":
        return "utf-8-sig" if best.bom else "utf-8"
    return best.encoding


def _text_lines(source: ReadingsFile) -> Iterator[tuple[int, str]]:
    """Each physical line, decoded on its own so that a bad byte is named by its line."""
    with source.path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode(source.encoding)
            except UnicodeDecodeError as exc:
                how = "detected from the start of the file" if source.detected else "as given"
                raise FileRefusedError(
                    f"{source.path}:{number}: not {source.encoding} ({how}): {exc.reason}; "
                    "give the file's encoding with --encoding"
                ) from None
            yield number, text.removeprefix("\ufeff") if number == 1 else text


def _columns(source: ReadingsFile) -> csv.DictReader:
    return csv.DictReader(text for _, text in _text_lines(source))


def _check_header(source: ReadingsFile) -> None:
    known = model_fields(source.feed)
    header = _columns(source).fieldnames or []
    unknown = [name for name in header if name not in known]
    if not header:
        raise FileRefusedError(f"{source.path}: empty; the first line names the columns")
    if unknown:
        raise FileRefusedError(
            f"{source.path}: unknown column{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))}; the {source.feed} feed's columns are "
            f"{', '.join(known)} (schemas/feeds/{source.feed}.schema.json)"
        )


def _csv_lines(source: ReadingsFile) -> Iterator[tuple[int, bytes]]:
    """CSV columns are the feed's field names; an empty cell means not measured."""
    reader = _columns(source)
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


def site_key(raw: bytes, feed: str) -> bytes | None:
    """The site id of a raw line of the feed, for keying a message the pusher was told not
    to check."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    first = obj[0] if isinstance(obj, list) and obj else obj
    if isinstance(first, dict):
        site = first.get(FEEDS[feed].site_field)
        if isinstance(site, str):
            return site.encode()
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
        progress: Callable[[int], None] | None = None,
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

    def push(self, lines: Iterator[tuple[int, bytes]]) -> PushReport:
        """Send every line; ``progress`` hears the line number reached now and then."""
        now = datetime.now(UTC)
        for number, raw in lines:
            self.report.lines += 1
            if self.decoder is None:
                self._send(site_key(raw, self.feed), raw, 1)
            else:
                decoded = self.decoder.decode(raw, now)
                for reject in decoded.rejects:
                    self.report.rejected.append((number, reject.reason))
                for reading in decoded.readings:
                    self._add(reading)
            if self.progress is not None and self.report.lines % PROGRESS_EVERY == 0:
                self.progress(number)
        for site in list(self._pending):
            self._flush(site)
        self.producer.flush()
        for readings, exc in self._undelivered:  # not sent after all
            self.report.failed.append(f"{readings} readings not delivered: {exc}")
            self.report.messages_sent -= 1
            self.report.readings_sent -= readings
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


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip()) - (path.suffix.lower() == ".csv")


def model_fields(feed: str) -> list[str]:
    """The column names a file for this feed may use (the names on the wire)."""
    info = msgspec.inspect.type_info(FEEDS[feed].reading)
    return [f.encode_name for f in info.fields]  # type: ignore[attr-defined]
