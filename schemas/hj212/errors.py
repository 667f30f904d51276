"""What can be wrong with bytes a data logger sent, one class per kind, each with a stable code.

Every error carries a reason a person at the agency can act on (what was wrong, what was
expected) and, once known, the raw bytes it concerns, so the gateway can dead-letter exactly
what arrived. The parser raises nothing else: anything a logger can send either parses or
becomes one of these.
"""

from __future__ import annotations

from typing import ClassVar


class Hj212Error(ValueError):
    """Base of every HJ 212 error; ``code`` is the dead-letter and metric label."""

    code: ClassVar[str] = "hj212_error"

    def __init__(self, reason: str, raw: bytes = b"") -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw

    def with_raw(self, raw: bytes) -> Hj212Error:
        """The same error about the whole packet (the parser sees only its data segment)."""
        self.raw = raw
        return self


class GarbageError(Hj212Error):
    """Bytes outside any packet: before a ``##`` or after a packet's CRLF."""

    code = "garbage"


class BadLengthError(Hj212Error):
    """The four characters after ``##`` are not digits, or do not match where the packet ends."""

    code = "bad_length"


class TooLargeError(Hj212Error):
    """A data segment longer than the gateway accepts."""

    code = "too_large"


class BadCrcError(Hj212Error):
    """The CRC is not four hex digits, or not the CRC-16 of the data segment."""

    code = "bad_crc"


class TruncatedError(Hj212Error):
    """The connection closed or idled in the middle of a packet."""

    code = "truncated"


class BadSegmentError(Hj212Error):
    """Missing, repeated or malformed fields of the data segment (QN, ST, CN, PW, MN, Flag, CP)."""

    code = "bad_segment"


class BadValueError(Hj212Error):
    """A value in CP (DataTime, a factor's -Rtd/-Avg/...) is not what its field holds."""

    code = "bad_value"


class UnknownMnError(Hj212Error):
    """No site in the register has this logger's MN."""

    code = "unknown_mn"


class WrongPasswordError(Hj212Error):
    """The PW does not match the register's password for the MN."""

    code = "wrong_password"


class UnknownFactorError(Hj212Error):
    """A factor code that the factor table does not list for the site's feed."""

    code = "unknown_factor"


class NoReadingError(Hj212Error):
    """A data packet that gives the feed nothing: no DataTime, or no value it can carry."""

    code = "no_reading"
