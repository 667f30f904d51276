"""HJ 212-2017 framing, CRC, data segment, replies and the conversion to feed messages."""

from __future__ import annotations

from datetime import datetime

import pytest

from schemas.hj212 import errors
from schemas.hj212.factors import load_factors, scale
from schemas.hj212.frame import Frame, FrameSplitter, crc16, encode
from schemas.hj212.readings import Converter
from schemas.hj212.reply import data_reply
from schemas.hj212.segment import BEIJING, Factor, parse
from tests.support.hj212 import WORKED, data_packet, wire

SEGMENT = WORKED[6:-6]
FACTORS = load_factors()


def test_worked_packet_crc_and_framing_match_the_standards_notes():
    assert len(SEGMENT) == 285
    assert crc16(SEGMENT) == 0xC181
    assert encode(SEGMENT) == WORKED


def test_crc_of_the_standards_own_example():
    # HJ 212-2017 appendix A prints this segment with CRC 1C80 (and, a line later, "1C08").
    segment = (
        b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;"
        b"Flag=5;CP=&&RtdInterval=30&&"
    )
    assert f"{crc16(segment):04X}" == "1C80"


def test_worked_packet_parses_into_its_fields():
    packet = parse(SEGMENT)
    assert (packet.qn, packet.st, packet.cn) == ("20190925181031464", "22", "2061")
    assert (packet.pw, packet.mn, packet.flag) == ("BF470F88957588DE902D1A52", "Z13401000010301", 5)
    assert packet.answer_requested and packet.version == 1
    assert packet.data_time == datetime(2019, 9, 24, 22, tzinfo=BEIJING)
    assert packet.factors["a34049"] == Factor(avg=10.663, flag="N")
    assert list(packet.factors) == ["a34006", "a34007", "a34048", "a34047", "a34049"]


def test_data_reply_byte_for_byte():
    assert data_reply(parse(SEGMENT)) == (
        b"##0096QN=20190925181031464;ST=91;CN=9014;PW=BF470F88957588DE902D1A52;"
        b"MN=Z13401000010301;Flag=4;CP=&&&&CE81\r\n"
    )
    # The standard's own example reply (table C.14), framed.
    request = b"QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;"
    reply = data_reply(parse(request + b"CP=&&DataTime=20160801085857;w01001-Rtd=7.1&&"))
    segment = (
        b"QN=20160801085857223;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&"
    )
    assert reply == b"##0087" + segment + b"%04X\r\n" % crc16(segment)


def split(chunks: list[bytes], max_segment: int = 1024) -> list[Frame | errors.Hj212Error]:
    splitter = FrameSplitter(max_segment)
    out = [item for chunk in chunks for item in splitter.feed(chunk)]
    return out + list(splitter.close())


def test_one_packet_split_byte_by_byte():
    out = split([WORKED[i : i + 1] for i in range(len(WORKED))])
    assert out == [Frame(WORKED, SEGMENT)]


def test_several_packets_in_one_read_with_garbage_between():
    other = wire(data_packet("MN2", "pw", "2061", datetime(2026, 1, 1), {"a34004": 35.0}))
    out = split([WORKED + b"\x00junk\r\n" + other + other])
    assert [type(item) for item in out] == [Frame, errors.GarbageError, Frame, Frame]
    assert out[1].raw == b"\x00junk\r\n"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (WORKED.replace(b"C181", b"C182"), errors.BadCrcError),
        (WORKED.replace(b"C181", b"C1G1"), errors.BadCrcError),
        (WORKED.replace(b"##0285", b"##02a5"), errors.BadLengthError),
        (WORKED.replace(b"##0285", b"##0280"), errors.BadLengthError),
        (WORKED.replace(b"##0285", b"##0290"), errors.BadLengthError),
        (WORKED.replace(b"##0285", b"##2000"), errors.TooLargeError),
        (WORKED[:100], errors.TruncatedError),
    ],
)
def test_bad_packets_are_rejected_whole_and_the_next_one_parses(raw, error):
    out = split([raw + WORKED])
    assert isinstance(out[0], error), out
    assert out[0].raw == raw[: len(out[0].raw)] and out[0].reason
    assert out[-1] == Frame(WORKED, SEGMENT)
    assert sum(len(item.raw) for item in out) == len(raw) + len(WORKED)  # nothing lost


def test_lower_case_crc_is_accepted():
    assert split([WORKED.replace(b"C181", b"c181")])[0].segment == SEGMENT


def test_memory_is_bounded_by_the_maximum_packet():
    splitter = FrameSplitter(100)
    out = splitter.feed(b"x" * 1000)
    assert all(isinstance(item, errors.GarbageError) for item in out)
    assert splitter.pending < splitter.max_packet
    out = splitter.feed(b"##9000" + b"y" * 500)
    assert any(isinstance(item, errors.TooLargeError) for item in out)
    assert splitter.pending < splitter.max_packet


@pytest.mark.parametrize(
    ("segment", "error", "words"),
    [
        (b"ST=22;CN=2061;PW=1;Flag=5;CP=&&&&", errors.BadSegmentError, "missing MN"),
        (b"QN=1;ST=22;CN=2061;PW=1;MN=A;CP=&&&&", errors.BadSegmentError, "QN"),
        (b"ST=22;CN=206;PW=1;MN=A;CP=&&&&", errors.BadSegmentError, "CN"),
        (b"ST=22;CN=2061;PW=1;MN=A;Flag=256;CP=&&&&", errors.BadSegmentError, "Flag"),
        (b"ST=22;CN=2061;PW=1;MN=A;MN=B;CP=&&&&", errors.BadSegmentError, "twice"),
        (b"ST=22;cn=2061;PW=1;MN=A;CP=&&&&", errors.BadSegmentError, "case-sensitive"),
        (b"ST=22;CN=2061;PW=1;MN=A", errors.BadSegmentError, "CP"),
        (b"ST=22;CN=2061;PW=1;MN=A;CP=&&DataTime=1&", errors.BadSegmentError, "&&"),
        ("ST=22;CN=2061;PW=1;MN=站;CP=&&&&".encode(), errors.BadSegmentError, "ASCII"),
        (b"ST=22;CN=2061;PW=1;MN=A;CP=&&DataTime=20261301000000&&", errors.BadValueError, "Data"),
        (b"ST=22;CN=2061;PW=1;MN=A;CP=&&a34004-Avg=1e5&&", errors.BadValueError, "a34004-Avg"),
        (b"ST=22;CN=2061;PW=1;MN=A;CP=&&a34004-Avg=nan&&", errors.BadValueError, "number"),
        (b"ST=22;CN=2061;PW=1;MN=A;CP=&&a34004-Avg=" + b"9" * 400 + b"&&", errors.BadValueError,
         "large"),
        (b"ST=22;CN=2061;PW=1;MN=A;CP=&&a34004-Flag=??&&", errors.BadValueError, "data flag"),
        (b"ST=22;CN=2061;PW=1;MN=A;CP=&&a34004&&", errors.BadSegmentError, "NAME=VALUE"),
    ],
)  # fmt: skip
def test_bad_segments_name_the_field(segment, error, words):
    with pytest.raises(error, match=words):
        parse(segment)


def test_flag_bits():
    base = b"ST=22;CN=2061;PW=1;MN=A;Flag=%d;CP=&&&&"
    assert not parse(base % 4).answer_requested
    assert parse(base % 7).answer_requested and parse(base % 7).version == 1
    assert parse(b"ST=22;CN=2061;PW=1;MN=A;CP=&&&&").flag == 0  # HJ/T 212-2005: no Flag


def test_split_packet_numbers_and_other_cp_fields_are_kept():
    packet = parse(b"ST=32;CN=1062;PW=1;MN=A;Flag=7;PNUM=3;PNO=2;CP=&&RtdInterval=30&&")
    assert (packet.pnum, packet.pno, packet.fields) == (3, 2, {"RtdInterval": "30"})


# Conversion to feed messages


def air(cn: str, values: dict[str, float], **kw: object) -> dict[str, object]:
    packet = data_packet("MN1", "pw", cn, datetime(2026, 11, 28, 7, tzinfo=BEIJING), values)
    return Converter("air", FACTORS["air"]).message(packet, "air-wucheng-01", **kw)


def test_hourly_air_packet_becomes_an_hourly_reading_at_the_hours_end():
    message = air("2061", {"a34004": 35.5, "a21005": 0.8, "a01001": 12.0})
    assert message == {
        "station_id": "air-wucheng-01",
        "ts": "2026-11-28T08:00:00+08:00",
        "period": "1h",
        "pm25": 35.5,
        "co": 0.8,
        "flags": {"pm25": "N", "co": "N"},
    }
    assert air("2031", {"a34004": 35.5})["ts"] == "2026-11-29T07:00:00+08:00"
    assert air("2031", {"a34004": 35.5})["period"] == "24h"


@pytest.mark.parametrize("cn", ["2011", "2051"])
def test_air_feed_does_not_carry_real_time_or_minute_data(cn):
    with pytest.raises(errors.NoReadingError, match="hourly"):
        air(cn, {"a34004": 35.5})


def test_unknown_factor_and_out_of_range_value():
    with pytest.raises(errors.UnknownFactorError, match="a99999"):
        air("2061", {"a34004": 35.5, "a99999": 1.0})
    with pytest.raises(errors.BadValueError, match="pm25"):
        air("2061", {"a34004": 6000.0})
    with pytest.raises(errors.NoReadingError, match="no air factor"):
        air("2061", {"a01001": 12.0})


@pytest.mark.parametrize(
    ("cn", "ts", "kind"),
    [
        ("2011", "2026-11-28T07:00:00+08:00", "rtd"),
        ("2051", "2026-11-28T07:10:00+08:00", "avg"),
        ("2061", "2026-11-28T08:00:00+08:00", "avg"),
        ("2031", "2026-11-29T07:00:00+08:00", "avg"),
    ],
)
def test_water_packets_of_every_command_with_micrograms_converted(cn, ts, kind):
    packet = data_packet(
        "MN1", "pw", cn, datetime(2026, 11, 28, 7, tzinfo=BEIJING), {"w20111": 0.05, "w01001": 7.2}
    )
    message = Converter("water", FACTORS["water"]).message(packet, "wq-x")
    assert message["ts"] == ts
    assert message["hg"] == 0.00005 and message["ph"] == 7.2  # µg/L -> mg/L
    assert message["flags"] == {"hg": "N", "ph": "N"}


def test_a_plant_logger_packet_is_a_wastewater_reading_with_its_flow_in_cubic_metres():
    values = {"w01018": 32.5, "w21003": 1.2, "w01012": 8.0, "w01010": 11.5, "w00000": 100.0}
    packet = data_packet("MN1", "pw", "2061", datetime(2026, 11, 28, 7, tzinfo=BEIJING), values,
                         st="32", data_flag="M")  # fmt: skip
    message = Converter("wastewater", FACTORS["wastewater"]).message(packet, "ww-x")
    assert message == {
        "plant_id": "ww-x", "ts": "2026-11-28T08:00:00+08:00", "cod": 32.5, "nh3n": 1.2,
        "ss": 8.0, "temp": 11.5, "flow": 360.0,  # 100 L/s is 360 m³/h
        "flags": dict.fromkeys(("cod", "nh3n", "ss", "temp", "flow"), "M"),
    }  # fmt: skip


def test_every_mapped_code_converts_to_its_feed_field():
    for feed, table in FACTORS.items():
        assert table.factors, feed
        for mapping in table.factors.values():
            assert mapping.scale > 0
    assert FACTORS["air"].factors["a21005"].field == "co"
    assert scale("L/s", "m³/d") == pytest.approx(86.4)
    with pytest.raises(ValueError, match="cannot be converted"):
        scale("mg/L", "°C")


def bitwise_crc16(data: bytes) -> int:
    """Appendix A's steps as written, one bit at a time."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ byte
        for _ in range(8):
            lsb = crc & 1
            crc >>= 1
            if lsb:
                crc ^= 0xA001
    return crc


@pytest.mark.parametrize("data", [b"", b"\x00", b"\xff" * 7, SEGMENT, bytes(range(256))])
def test_table_crc_equals_the_bitwise_algorithm(data):
    assert crc16(data) == bitwise_crc16(data)
