"""A data packet (CN 2011, 2051, 2061, 2031) as an ordinary feed reading, the same struct an
agency's JSON decodes to, so that everything downstream of the feed topic is unchanged.

``ts`` is the end of the period the values cover (the feeds' convention): HJ 212's DataTime
is the period's start for minute, hourly and daily data and the instant of real-time data.
Each factor's ``-Flag`` becomes the reading's ``flags`` entry for its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

import msgspec

from schemas.feeds import FEEDS
from schemas.hj212.errors import BadValueError, NoReadingError, UnknownFactorError
from schemas.hj212.factors import FeedFactors
from schemas.hj212.segment import Packet

REAL_TIME, MINUTE, HOURLY, DAILY = "2011", "2051", "2061", "2031"
DATA_COMMANDS = (REAL_TIME, MINUTE, HOURLY, DAILY)
# The air feed names its averaging periods; commands without one there are not carried.
_PERIOD_LABEL = {HOURLY: "1h", DAILY: "24h"}


@dataclass(frozen=True, slots=True)
class Converter:
    """Builds one feed's readings; ``minute`` is the loggers' minute-data interval (MinInterval)."""

    feed: str
    factors: FeedFactors
    minute: timedelta = timedelta(minutes=10)

    def period(self, cn: str) -> timedelta:
        return {
            REAL_TIME: timedelta(0),
            MINUTE: self.minute,
            HOURLY: timedelta(hours=1),
            DAILY: timedelta(days=1),
        }[cn]

    def message(self, packet: Packet, site_id: str) -> dict[str, Any]:
        """The feed message (wire names, only the fields given), checked against the feed's
        struct; raises NoReadingError, UnknownFactorError, or BadValueError (out of range)."""
        feed = FEEDS[self.feed]
        model = feed.reading
        if packet.cn not in DATA_COMMANDS:
            raise NoReadingError(f"CN={packet.cn} is no data upload ({', '.join(DATA_COMMANDS)})")
        if packet.data_time is None:
            raise NoReadingError(f"CN={packet.cn} without DataTime in CP: the reading has no time")
        message: dict[str, Any] = {
            feed.site_field: site_id,
            "ts": (packet.data_time + self.period(packet.cn)).isoformat(),
        }
        allowed = _periods(model)
        if allowed is not None:
            label = _PERIOD_LABEL.get(packet.cn)
            if label not in allowed:
                raise NoReadingError(
                    f"the {self.feed} feed carries hourly (CN=2061) and daily (CN=2031) "
                    f"means, not CN={packet.cn}; have the logger upload those"
                )
            message["period"] = label
        unknown = sorted(set(packet.factors) - set(self.factors.factors) - self.factors.ignore)
        if unknown:
            raise UnknownFactorError(
                f"factor code(s) {', '.join(unknown)} are not in the {self.feed} feed's factor "
                "table (schemas/hj212/factors.toml); check the logger's codes against HJ 212 "
                "appendix B, or ask the bureau to add them"
            )
        flags = {}
        kind = "rtd" if packet.cn == REAL_TIME else "avg"
        for code, factor in packet.factors.items():
            mapping = self.factors.factors.get(code)
            value = getattr(factor, kind)
            if mapping is None or value is None:
                continue
            message[mapping.field] = float(f"{value * mapping.scale:.12g}")
            if factor.flag is not None:
                flags[mapping.field] = factor.flag
        if len(message) == 2 + ("period" in message):
            raise NoReadingError(
                f"no {self.feed} factor with a -{kind.capitalize()} value in CN={packet.cn}; "
                f"expected one of {', '.join(self.factors.factors)}"
            )
        if flags:
            message["flags"] = flags
        try:
            msgspec.convert(message, model, strict=False)
        except msgspec.ValidationError as exc:
            raise BadValueError(f"{exc} (in the feed's unit, after conversion)") from None
        return message


@cache
def _periods(model: type[msgspec.Struct]) -> tuple[object, ...] | None:
    """The averaging periods a feed names (air: 1h, 24h), or None if it names none."""
    info = msgspec.inspect.type_info(model)
    assert isinstance(info, msgspec.inspect.StructType)
    for field in info.fields:
        if field.name == "period" and isinstance(field.type, msgspec.inspect.LiteralType):
            return tuple(field.type.values)
    return None
