"""The data segment of an HJ 212-2017 packet, parsed into typed structs.

``QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;[PNUM=…;PNO=…;]CP=&&…&&``. Inside CP, items are separated
by ``;`` and the fields of one factor by ``,`` (``w01018-Avg=40.1,w01018-Flag=N``); field names
are case-sensitive (section 6.3.3). Values of the fields the gateway forwards are checked
here, so that a packet either parses whole or is refused with the field that is wrong.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import msgspec

from schemas.hj212.errors import BadSegmentError, BadValueError

# HJ 212 times (QN, DataTime) are the logger's local time, Beijing time, without an offset.
BEIJING = timezone(timedelta(hours=8))
VALUE_KINDS = ("Rtd", "Avg", "Min", "Max", "Cou")  # the numbers a factor carries
_HEADER = ("QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO")
_REQUIRED = ("ST", "CN", "PW", "MN")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
LOGGER_TOKEN = re.compile(r"[0-9A-Za-z]{1,24}")  # what an MN or PW may hold
_CODE = re.compile(r"[A-Za-z][0-9A-Za-z]{1,15}")


class Factor(msgspec.Struct, frozen=True, kw_only=True):
    """One monitored factor's fields in a data packet (``<code>-Rtd``, ``-Avg``, ...)."""

    rtd: float | None = None
    avg: float | None = None
    min: float | None = None
    max: float | None = None
    cou: float | None = None
    flag: str | None = None  # data flag, section 6.6.4: N, S valid; F, M, D, C, T, B not
    extra: dict[str, str] = {}  # other fields as sent: SampleTime, EFlag, ZsRtd, ...


class Packet(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed data segment. ``data_time`` and ``factors`` come from CP; other CP fields
    (``RtdInterval=30``, ``PolId=w01018``) are kept as text in ``fields``."""

    qn: str | None
    st: str
    cn: str
    pw: str
    mn: str
    flag: int
    pnum: int | None = None
    pno: int | None = None
    data_time: datetime | None = None
    factors: dict[str, Factor] = {}
    fields: dict[str, str] = {}

    @property
    def answer_requested(self) -> bool:
        """Flag bit A: the logger waits for a reply."""
        return bool(self.flag & 1)

    @property
    def version(self) -> int:
        """Flag bits V5..V0: 0 is HJ/T 212-2005, 1 is HJ 212-2017."""
        return self.flag >> 2


def parse(segment: bytes) -> Packet:
    """A data segment -> :class:`Packet`; raises BadSegmentError or BadValueError, nothing else."""
    try:
        text = segment.decode("ascii")
    except UnicodeDecodeError as exc:
        raise BadSegmentError(
            f"the data segment must be ASCII; byte 0x{segment[exc.start]:02X} at position "
            f"{exc.start} is not"
        ) from None
    head, sep, body = text.partition("CP=&&")
    if not sep:
        raise BadSegmentError("no CP=&&...&& in the data segment; every packet ends with its CP")
    if not body.endswith("&&"):
        raise BadSegmentError("CP must end with && at the end of the data segment")
    header = _pairs(head.split(";"), "header", _HEADER)
    missing = [name for name in _REQUIRED if not header.get(name)]
    if missing:
        raise BadSegmentError(f"missing {', '.join(missing)} in the data segment's header")
    for name in ("MN", "PW"):
        if not LOGGER_TOKEN.fullmatch(header[name]):
            raise BadSegmentError(f"{name}={header[name]!r}: expected 1 to 24 letters or digits")
    qn = header.get("QN")
    if qn is not None and not (len(qn) == 17 and qn.isdigit()):
        raise BadSegmentError(f"QN={qn!r}: expected the request time as YYYYMMDDhhmmsszzz")
    for name, digits in (("ST", 2), ("CN", 4)):
        if not (len(header[name]) == digits and header[name].isdigit()):
            raise BadSegmentError(f"{name}={header[name]!r}: expected {digits} digits")
    flag = _integer(header, "Flag", 0, 255)
    data_time, factors, fields = _cp(body[:-2])
    return Packet(
        qn=qn,
        st=header["ST"],
        cn=header["CN"],
        pw=header["PW"],
        mn=header["MN"],
        flag=0 if flag is None else flag,
        pnum=_integer(header, "PNUM", 1, 999_999_999),
        pno=_integer(header, "PNO", 1, 99_999_999),
        data_time=data_time,
        factors=factors,
        fields=fields,
    )


def _pairs(items: list[str], where: str, allowed: tuple[str, ...] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        item = item.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise BadSegmentError(f"{where} item {item[:40]!r} is not NAME=VALUE")
        if allowed is not None and name not in allowed:
            raise BadSegmentError(
                f"unknown {where} field {name[:20]!r}; expected {', '.join(allowed)} "
                "(names are case-sensitive)"
            )
        if name in out:
            raise BadSegmentError(f"{where} field {name[:20]!r} is given twice")
        out[name] = value
    return out


def _integer(header: dict[str, str], name: str, lo: int, hi: int) -> int | None:
    value = header.get(name)
    if value is None:
        return None
    if not (value.isdigit() and value.isascii() and lo <= int(value) <= hi):
        raise BadSegmentError(f"{name}={value[:20]!r}: expected a whole number from {lo} to {hi}")
    return int(value)


def _cp(body: str) -> tuple[datetime | None, dict[str, Factor], dict[str, str]]:
    data_time: datetime | None = None
    per_code: dict[str, dict[str, str]] = {}
    fields: dict[str, str] = {}
    for name, value in _pairs(body.replace(",", ";").split(";"), "CP", None).items():
        code, dash, kind = name.partition("-")
        if name == "DataTime":
            data_time = _time(value)
        elif dash and _CODE.fullmatch(code) and kind:
            per_code.setdefault(code, {})[kind] = value
        else:
            fields[name] = value
    return data_time, {code: _factor(code, given) for code, given in per_code.items()}, fields


def _time(value: str) -> datetime:
    try:
        if len(value) != 14 or not value.isdigit():
            raise ValueError
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING)
    except ValueError:
        raise BadValueError(
            f"DataTime={value[:20]!r}: expected local time as YYYYMMDDhhmmss"
        ) from None


def _factor(code: str, given: dict[str, str]) -> Factor:
    values: dict[str, float] = {}
    extra = dict(given)
    for kind in VALUE_KINDS:
        text = extra.pop(kind, None)
        if text is None:
            continue
        if not _NUMBER.fullmatch(text):
            raise BadValueError(f"{code}-{kind}={text[:20]!r} is not a number")
        number = float(text)
        if not math.isfinite(number):
            raise BadValueError(f"{code}-{kind}={text[:20]!r}... is too large a number")
        values[kind.lower()] = number
    flag = extra.pop("Flag", None)
    if flag is not None and not (flag.isalpha() and flag.isascii() and len(flag) <= 2):
        raise BadValueError(f"{code}-Flag={flag[:20]!r}: expected a data flag (N, S, F, M, D...)")
    return Factor(flag=flag, extra=extra, **values)


def render(packet: Packet) -> bytes:
    """The data segment of a packet, in the standard's field order: what a logger sends, and
    the shape of the gateway's replies. ``parse(render(p)) == p``."""
    head = [f"QN={packet.qn}"] if packet.qn is not None else []
    head += [f"ST={packet.st}", f"CN={packet.cn}", f"PW={packet.pw}", f"MN={packet.mn}"]
    head.append(f"Flag={packet.flag}")
    head += [f"{name}={value}" for name, value in (("PNUM", packet.pnum), ("PNO", packet.pno))
             if value is not None]  # fmt: skip
    items = [f"DataTime={packet.data_time:%Y%m%d%H%M%S}"] if packet.data_time else []
    items += [f"{name}={value}" for name, value in packet.fields.items()]
    for code, factor in packet.factors.items():
        parts = [
            f"{code}-{kind}={_decimal(getattr(factor, kind.lower()))}"
            for kind in VALUE_KINDS
            if getattr(factor, kind.lower()) is not None
        ]
        parts += [f"{code}-Flag={factor.flag}"] if factor.flag is not None else []
        parts += [f"{code}-{name}={value}" for name, value in factor.extra.items()]
        items.append(",".join(parts))
    return (";".join([*head, f"CP=&&{';'.join(items)}&&"])).encode("ascii")


def _decimal(value: float) -> str:
    """A float in plain decimal notation (the standard's N types have no exponent)."""
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
