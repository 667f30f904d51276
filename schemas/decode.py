"""Raw message bytes to valid readings and rejects, with a reason a person can act on.

The fast path decodes a whole message with one typed msgspec call. Only when that fails is
the message taken apart element by element, so that one bad reading in a batch rejects that
reading alone (with its own bytes) and the rest of the batch is kept.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter

import msgspec

from schemas.feed import Feed, Reading
from schemas.hj212.flags import FLAGS, KNOWN


@dataclass(frozen=True, slots=True)
class Reject:
    """A message or batch element refused, with the bytes as received."""

    raw: bytes
    reason: str
    code: str


@dataclass(slots=True)
class Decoded:
    readings: list[Reading] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    # Each reading's element of the batch (None: the message was one reading), so that a
    # reading refused later (a conflicting duplicate) is dead-lettered with its own bytes.
    elements: list[int | None] = field(default_factory=list)


@dataclass(frozen=True)
class Rules:
    """What a reading must satisfy besides its types and physical ranges."""

    known_sites: Container[str]
    max_future: timedelta = timedelta(minutes=10)
    earliest: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    max_bytes: int = 1_000_000


class FeedDecoder:
    """Decodes one feed's messages; built once per feed and reused on every message."""

    def __init__(self, feed: Feed, rules: Rules) -> None:
        model = feed.reading
        self.feed = feed.name
        self.rules = rules
        self._message = msgspec.json.Decoder(model | list[model])  # type: ignore[valid-type]
        self._single = msgspec.json.Decoder(model)
        self._parts = msgspec.json.Decoder(list[msgspec.Raw])
        self._whole = msgspec.json.Decoder(msgspec.Raw)
        self._measured = tuple(q.attr for q in feed.quantities)
        measured = attrgetter(*self._measured)
        self._values = measured if len(self._measured) > 1 else lambda r: (measured(r),)
        self._wire = ", ".join(q.wire for q in feed.quantities)
        self._wires = frozenset(q.wire for q in feed.quantities)
        self._choices = _choices(model)

    def decode(self, raw: bytes, now: datetime) -> Decoded:
        out = Decoded()
        if len(raw) > self.rules.max_bytes:
            out.rejects.append(
                Reject(
                    raw,
                    f"message of {len(raw)} bytes exceeds the limit of "
                    f"{self.rules.max_bytes} bytes; split the batch",
                    "oversized",
                )
            )
            return out
        try:
            decoded = self._message.decode(raw)
        except msgspec.DecodeError:
            return self._decode_parts(raw, now, out)
        if decoded == []:
            reason = "empty batch: expected one reading object or an array of at least one"
            out.rejects.append(Reject(raw, reason, "empty_batch"))
            return out
        if not isinstance(decoded, list):
            self._check(decoded, raw, None, now, out)
            return out
        latest = now + self.rules.max_future
        if all(self._fine(reading, latest) for reading in decoded):  # the common case
            out.readings, out.elements = decoded, list(range(len(decoded)))
            return out
        for index, reading in enumerate(decoded):
            self._check(reading, raw, index, now, out)
        if out.rejects:
            # A batch with a semantic reject: keep each rejected element's own bytes.
            return self._decode_parts(raw, now, Decoded())
        return out

    def _decode_parts(self, raw: bytes, now: datetime, out: Decoded) -> Decoded:
        try:
            is_batch = raw.lstrip()[:1] == b"["
            parts = self._parts.decode(raw) if is_batch else self._whole.decode(raw)
        except msgspec.DecodeError as exc:
            reason = f"not valid JSON: {exc}; expected one reading object or an array of them"
            out.rejects.append(Reject(raw, reason, "malformed_json"))
            return out
        single = not isinstance(parts, list)
        for index, part in enumerate([parts] if single else parts):
            piece = bytes(part)
            try:
                reading = self._single.decode(piece)
            except msgspec.DecodeError as exc:
                where = "" if single else f" (batch element {index})"
                reason = f"{exc}{self._expected(str(exc))}{where}"
                out.rejects.append(Reject(piece, reason, _code(str(exc))))
                continue
            self._check(reading, piece, None if single else index, now, out)
        return out

    def element(self, raw: bytes, index: int | None) -> bytes:
        """The bytes of one reading of a message as received: its batch element ``index``, or
        the whole message (None), as :attr:`Decoded.elements` names it."""
        return raw if index is None else bytes(self._parts.decode(raw)[index])

    def _expected(self, message: str) -> str:
        """msgspec names the field but not the allowed values of an enumeration; add them,
        whatever was wrong there (another string, a number, null)."""
        for name, values in self._choices.items():
            if message.endswith(f" - at `$.{name}`"):
                return f"; expected one of {', '.join(map(repr, values))}"
        return ""

    def _fine(self, reading: Reading, latest: datetime) -> bool:
        """Whether nothing is wrong with a reading, tested cheaply; :meth:`_problem` says
        what is (the two must agree: the tests hold them together)."""
        start = reading.span()[0]
        values = self._values(reading)
        return (
            reading.site() in self.rules.known_sites
            and self.rules.earliest <= start <= latest
            and reading.flags is None
            and values.count(None) != len(values)
            and reading.problem() is None
        )

    def _check(
        self, reading: Reading, raw: bytes, index: int | None, now: datetime, out: Decoded
    ) -> None:
        reason, code = self._problem(reading, now)
        if reason is None:
            out.readings.append(reading)
            out.elements.append(index)
        else:
            where = "" if index is None else f" (batch element {index})"
            out.rejects.append(Reject(raw, reason + where, code))

    def _problem(self, reading: Reading, now: datetime) -> tuple[str | None, str]:
        site = reading.site()
        if site not in self.rules.known_sites:
            return (
                f"unknown {self.feed} site id {site!r}: not in the city's register "
                "(schemas/reference); ask the bureau to register the site",
                "unknown_site",
            )
        start = reading.span()[0]
        if start > now + self.rules.max_future:
            return (
                f"timestamp {start.isoformat()} is in the future (now {now.isoformat()}); "
                "expected the end of the averaging period, with its UTC offset",
                "future_timestamp",
            )
        if start < self.rules.earliest:
            return (
                f"timestamp {start.isoformat()} is before {self.rules.earliest.date()}; "
                "expected a real measurement time",
                "ancient_timestamp",
            )
        problem = reading.problem()
        if problem is not None:
            return problem
        if reading.flags:
            problem = self._flag_problem(reading.flags)
            if problem is not None:
                return problem
        if all(getattr(reading, attr) is None for attr in self._measured):
            return f"no measured value given; expected at least one of {self._wire}", (
                "empty_reading"
            )
        return None, ""

    def _flag_problem(self, flags: dict[str, str]) -> tuple[str, str] | None:
        for parameter, flag in flags.items():
            if parameter not in self._wires:
                return (
                    f"flags name {parameter!r}, which the {self.feed} feed does not measure; "
                    f"expected one of {self._wire}",
                    "unknown_flag_parameter",
                )
            if flag not in FLAGS:
                return (
                    f"flag {flag!r} of {parameter} is not an HJ 212 data flag; expected one of "
                    f"{KNOWN}",
                    "unknown_flag",
                )
        return None


def _choices(model: type[msgspec.Struct]) -> dict[str, tuple[object, ...]]:
    """Wire name -> allowed values, for the fields whose type is a set of literals."""
    info = msgspec.inspect.type_info(model)
    assert isinstance(info, msgspec.inspect.StructType)
    out: dict[str, tuple[object, ...]] = {}
    for f in info.fields:
        t = f.type.type if isinstance(f.type, msgspec.inspect.Metadata) else f.type  # described
        if isinstance(t, msgspec.inspect.LiteralType):
            out[f.encode_name] = tuple(t.values)
    return out


def _code(message: str) -> str:
    """A short, stable label for the dead-letter metric, from msgspec's message."""
    if message.startswith("Object missing required field"):
        return "missing_field"
    if message.startswith("Object contains unknown field"):
        return "unknown_field"
    if "timezone" in message:
        return "timestamp_without_offset"
    if message.startswith("Expected `float` >=") or message.startswith("Expected `float` <="):
        return "out_of_range"
    if message.startswith("Number out of range"):
        return "out_of_range"
    if message.startswith("Invalid enum value"):
        return "invalid_value"
    if message.startswith("JSON is malformed"):
        return "malformed_json"
    return "wrong_type"
