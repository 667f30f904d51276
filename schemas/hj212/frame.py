"""HJ 212-2017 framing: ``##`` + 4-digit length + data segment + CRC-16 (4 hex digits) + CRLF.

A TCP stream carries packets with no regard for reads: one read may hold half a packet,
several packets, or bytes that belong to none. :class:`FrameSplitter` turns the reads of one
connection into whole frames and rejected stretches, in order, with bounded memory: a
packet may not be longer than the limit, and bytes that are no packet are handed back in
pieces no longer than that either, so nothing is silently dropped and nothing grows without
bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.hj212.errors import (
    BadCrcError,
    BadLengthError,
    GarbageError,
    Hj212Error,
    TooLargeError,
    TruncatedError,
)

HEADER = b"##"
TRAILER = b"\r\n"
# ## + 4 digits before the segment, CRC + CRLF after it.
OVERHEAD = 2 + 4 + 4 + 2
# HJ 212-2017 table 2: a data segment holds 0 to 1024 characters; longer data is split
# across packets (Flag bit D, PNUM/PNO).
STANDARD_MAX_SEGMENT = 1024
LARGEST_SEGMENT = 9999  # what four decimal digits can declare
_HEX = frozenset(b"0123456789ABCDEFabcdef")
_DIGITS = frozenset(b"0123456789")


def _rounds(value: int) -> int:
    """The standard's eight shift-and-xor rounds (appendix A) on one register value."""
    for _ in range(8):
        lsb = value & 1
        value >>= 1
        if lsb:
            value ^= 0xA001
    return value


# The rounds never test the register's high byte, which only moves down by eight bits, so
# they equal (v >> 8) ^ _TABLE[v & 0xFF]: one lookup a byte instead of eight rounds.
_TABLE = tuple(_rounds(i) for i in range(256))


def crc16(data: bytes) -> int:
    """The standard's CRC-16 (appendix A; not CRC-16/MODBUS): for each byte the register is
    ``(crc >> 8) ^ byte``, then the eight rounds."""
    crc = 0xFFFF
    for byte in data:
        value = (crc >> 8) ^ byte
        crc = (value >> 8) ^ _TABLE[value & 0xFF]
    return crc


def encode(segment: bytes) -> bytes:
    """One packet around a data segment, as a logger or the gateway sends it."""
    if len(segment) > LARGEST_SEGMENT:
        raise TooLargeError(f"a data segment of {len(segment)} bytes cannot be framed (max 9999)")
    return b"%s%04d%s%04X%s" % (HEADER, len(segment), segment, crc16(segment), TRAILER)


@dataclass(frozen=True, slots=True)
class Frame:
    """A packet whose length and CRC check out: its bytes as received and its data segment."""

    raw: bytes
    segment: bytes


class FrameSplitter:
    """Incremental splitter for one connection: feed it reads, get frames and errors back.

    :meth:`feed` never raises; each error it returns carries the bytes it rejects (``raw``).
    """

    def __init__(self, max_segment: int = STANDARD_MAX_SEGMENT) -> None:
        if not 0 < max_segment <= LARGEST_SEGMENT:
            raise ValueError(f"max_segment must be 1..{LARGEST_SEGMENT}, got {max_segment}")
        self.max_segment = max_segment
        self.max_packet = max_segment + OVERHEAD
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held while waiting for the rest of a packet."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame | Hj212Error]:
        self._buf += data
        out: list[Frame | Hj212Error] = []
        while self._buf:
            item = self._next()
            if item is None:
                break
            out.append(item)
        return out

    def close(self) -> list[Hj212Error]:
        """The connection ended: whatever is held is an unfinished packet or stray bytes."""
        rest, self._buf = bytes(self._buf), bytearray()
        if not rest:
            return []
        if rest.startswith(HEADER):
            return [
                TruncatedError(
                    f"the connection ended {len(rest)} bytes into a packet, before its CRLF; "
                    "check that the logger sends whole packets",
                    rest,
                )
            ]
        return [GarbageError(f"{len(rest)} bytes that are no HJ 212 packet (no ## header)", rest)]

    def _take(self, end: int) -> bytes:
        taken = bytes(self._buf[:end])
        del self._buf[:end]
        return taken

    def _next(self) -> Frame | Hj212Error | None:
        """One frame or error from the front of the buffer, or None to wait for more bytes."""
        buf = self._buf
        start = buf.find(HEADER)
        if start != 0:
            return self._garbage(start)
        if len(buf) < 6:
            return None
        digits = buf[2:6]
        if not set(digits) <= _DIGITS:
            return self._resync(
                BadLengthError(
                    f"expected the data segment's length as 4 decimal digits after ##, "
                    f"got {bytes(digits)!r}"
                )
            )
        length = int(digits)
        if length > self.max_segment:
            return self._resync(
                TooLargeError(
                    f"the header declares a data segment of {length} bytes; this gateway takes "
                    f"at most {self.max_segment}: have the logger split the data (Flag bit D)"
                )
            )
        crc_at, total = 6 + length, length + OVERHEAD
        # A segment holds no CR or LF, so an early CRLF means the declared length is wrong;
        # a new header inside the declared packet means this one was cut off.
        end = min(len(buf), total)
        crlf, cut = buf.find(TRAILER, 6, end), buf.find(HEADER, 2, end)
        if crlf != -1 and crlf < crc_at + 4 and (cut == -1 or crlf < cut):
            found = max(crlf - 4 - 6, 0)
            return self._cut(
                crlf + 2,
                BadLengthError(
                    f"the header declares {length} bytes of data segment but the packet ends "
                    f"after about {found}; the length must count the data segment's bytes"
                ),
            )
        if cut != -1:
            return self._cut(
                cut,
                TruncatedError(
                    f"a new packet began {cut} bytes into this one, before the {total} bytes "
                    "its header declares; check that the logger sends whole packets"
                ),
            )
        if len(buf) < total:
            return None
        if buf[crc_at + 4 : total] != TRAILER:
            return self._resync(
                BadLengthError(
                    f"no CRLF where the declared length {length} puts the end of the packet; "
                    "the length must count the data segment's bytes"
                )
            )
        crc = bytes(buf[crc_at : crc_at + 4])
        segment = bytes(buf[6:crc_at])
        raw = self._take(total)
        if not set(crc) <= _HEX:
            return BadCrcError(f"the CRC must be 4 hex digits, got {crc!r}", raw)
        expected = crc16(segment)
        if int(crc, 16) != expected:
            return BadCrcError(
                f"CRC {crc.decode()} does not match the data segment (its CRC-16 is "
                f"{expected:04X}); the packet was damaged or the logger's CRC is not HJ 212's",
                raw,
            )
        return Frame(raw, segment)

    def _garbage(self, start: int) -> Hj212Error | None:
        """Bytes before the next ``##`` (or all of them, keeping a last '#' that may begin one)."""
        if start == -1:
            end = len(self._buf) - (1 if self._buf.endswith(b"#") else 0)
            if end < self.max_packet:
                return None  # more may come before the next header
            start = end
        return GarbageError(
            f"{start} bytes that are not an HJ 212 packet (no ## header) were skipped",
            self._take(min(start, self.max_packet)),
        )

    def _resync(self, error: Hj212Error) -> Hj212Error | None:
        """A packet with a bad header or trailer: reject it up to its CRLF or the next ``##``."""
        buf = self._buf
        ends = [i + 2 for i in (buf.find(TRAILER, 2),) if i != -1]
        ends += [i for i in (buf.find(HEADER, 2),) if i != -1]
        if ends:
            return self._cut(min(min(ends), self.max_packet), error)
        if len(buf) >= self.max_packet:
            return self._cut(self.max_packet, error)
        return None

    def _cut(self, end: int, error: Hj212Error) -> Hj212Error:
        return error.with_raw(self._take(end))
