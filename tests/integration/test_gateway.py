"""The HJ 212 gateway with real TCP clients, a real ``envwatch gateway`` process and the embedded
broker: packets in, feed messages and dead letters out, 9014 answers byte for byte."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timedelta

import orjson
import pytest

from bench.payloads import write_register
from schemas.hj212.frame import crc16, encode
from schemas.hj212.segment import BEIJING, Packet, render
from schemas.reference import load_reference
from streams.deadletter import decode_headers
from streams.settings import Settings
from streams.topics import DEAD_LETTER
from tests.support.hj212 import WORKED, data_packet, wire
from tests.support.services import read_topic, wait_until

REGISTER = load_reference()
STATION = REGISTER.site("air", "air-wucheng-01")
SECTION = REGISTER.site("water", "wq-hengjin-01")
PLANT = REGISTER.site("wastewater", "ww-lanxi-01")  # required 1A, built 2004
AIR = {"a34004": 35.0, "a34002": 60.0, "a21026": 8.0, "a21004": 25.0, "a05024": 90.0, "a21005": 0.7}
WATER = {"w01001": 7.4, "w01009": 8.1, "w21003": 0.3, "w21011": 0.05, "w20111": 0.04}
# A plant's effluent: COD 75 mg/L (over 1B's 60), the rest within 1A; flow 100 L/s.
EFFLUENT = {
    **{"w01018": 75.0, "w01017": 6.0, "w01012": 8.0, "w21001": 12.0, "w21003": 1.5},
    **{"w21011": 0.3, "w01001": 7.2, "w02003": 400.0, "w01010": 18.5, "w00000": 100.0},
}


def expected_reply(packet: Packet) -> bytes:
    """The 9014 answer as HJ 212-2017 table C.14 spells it, framed by hand."""
    segment = (
        f"QN={packet.qn};ST=91;CN=9014;PW={packet.pw};MN={packet.mn};Flag=4;CP=&&&&"
    ).encode()
    return b"##%04d%s%04X\r\n" % (len(segment), segment, crc16(segment))


async def talk(port: int, writes: list[bytes], replies: int, pause_s: float = 0.0) -> bytes:
    """Send each write as its own TCP segment, then read until ``replies`` packets came back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for data in writes:
        writer.write(data)
        await writer.drain()
        if pause_s:
            await asyncio.sleep(pause_s)
    received = b""
    while received.count(b"\r\n") < replies:
        chunk = await asyncio.wait_for(reader.read(65536), 20)
        assert chunk, f"connection closed after {received!r}"
        received += chunk
    writer.close()
    return received


def messages(settings: Settings, feed: str, expected: int, timeout_s: float = 30) -> list[dict]:
    """Every reading on a feed topic, once ``expected`` readings arrived (a message is a
    per-site batch, keyed by its site)."""
    readings: list[dict] = []
    records = read_topic(
        settings, settings.topic(feed), expected, timeout_s, lambda r: len(orjson.loads(r.value))
    )
    for record in records:
        batch = orjson.loads(record.value)
        assert all(reading[_key(feed)] == record.key.decode() for reading in batch)
        readings.extend(batch)
    return readings


def _key(feed: str) -> str:
    return {"air": "station_id", "water": "section_id"}[feed]


def test_every_data_command_becomes_feed_readings_answered_byte_for_byte(settings, start_gateway):
    gateway = start_gateway(settings)
    start = datetime(2026, 11, 28, 7, tzinfo=BEIJING)
    air = [
        data_packet(STATION.mn, STATION.pw, "2061", start, AIR),
        data_packet(STATION.mn, STATION.pw, "2031", start - timedelta(hours=7), AIR),
    ]
    water = [
        data_packet(SECTION.mn, SECTION.pw, cn, start, WATER, st="21")
        for cn in ("2011", "2051", "2061", "2031")
    ]
    packets = air + water
    replies = asyncio.run(talk(gateway.port, [wire(p) for p in packets], len(packets)))
    assert replies == b"".join(expected_reply(p) for p in packets)

    got_air = sorted(messages(settings, "air", 2), key=lambda m: m["period"])
    assert got_air == [
        {
            "station_id": STATION.id, "ts": "2026-11-28T08:00:00+08:00", "period": "1h",
            "pm25": 35.0, "pm10": 60.0, "so2": 8.0, "no2": 25.0, "o3": 90.0, "co": 0.7,
            "flags": dict.fromkeys(("pm25", "pm10", "so2", "no2", "o3", "co"), "N"),
        },
        {
            "station_id": STATION.id, "ts": "2026-11-29T00:00:00+08:00", "period": "24h",
            "pm25": 35.0, "pm10": 60.0, "so2": 8.0, "no2": 25.0, "o3": 90.0, "co": 0.7,
            "flags": dict.fromkeys(("pm25", "pm10", "so2", "no2", "o3", "co"), "N"),
        },
    ]  # fmt: skip
    got_water = {m["ts"]: m for m in messages(settings, "water", 4)}
    assert sorted(got_water) == [
        "2026-11-28T07:00:00+08:00",  # 2011: the instant
        "2026-11-28T07:10:00+08:00",  # 2051: the end of the 10-minute period
        "2026-11-28T08:00:00+08:00",  # 2061
        "2026-11-29T07:00:00+08:00",  # 2031
    ]
    for message in got_water.values():
        assert message["ph"] == 7.4 and message["hg"] == pytest.approx(0.00004)  # µg/L -> mg/L
    assert gateway.metric("envwatch_gateway_readings_total") == len(packets)
    assert gateway.metric("envwatch_gateway_packets_total", site=SECTION.id, kind="data") == 4
    assert gateway.metric("envwatch_gateway_last_packet_timestamp_seconds", site=STATION.id) > 0


def test_split_byte_by_byte_and_concatenated_packets(settings, start_gateway):
    gateway = start_gateway(settings)
    t = datetime(2026, 11, 28, 9, tzinfo=BEIJING)
    packets = [data_packet(STATION.mn, STATION.pw, "2061", t + timedelta(hours=h), AIR)
               for h in range(3)]  # fmt: skip
    first = wire(packets[0])
    writes = [first[i : i + 1] for i in range(len(first))] + [wire(packets[1]) + wire(packets[2])]
    replies = asyncio.run(talk(gateway.port, writes, 3, pause_s=0.002))
    assert replies == b"".join(expected_reply(p) for p in packets)
    assert len(messages(settings, "air", 3)) == 3


def test_each_bad_packet_is_dead_lettered_with_its_reason_while_the_connection_lives(
    settings, start_gateway
):
    gateway = start_gateway(settings)
    t = datetime(2026, 11, 28, 10, tzinfo=BEIJING)
    good = data_packet(STATION.mn, STATION.pw, "2061", t, AIR)
    segment = render(good)
    bad = {
        "bad_crc": wire(good)[:-6] + b"0000\r\n",
        "bad_length": b"##%04d" % (len(segment) - 3) + segment + b"%04X\r\n" % crc16(segment),
        "unknown_mn": WORKED,
        "wrong_password": wire(data_packet(STATION.mn, "000000", "2061", t, AIR)),
        "unknown_factor": wire(data_packet(STATION.mn, STATION.pw, "2061", t, {"a99999": 1.0})),
        "bad_value": encode(segment.replace(b"a34004-Avg=35", b"a34004-Avg=3x5")),
        "garbage": b"AT+CSQ\r\n",
    }
    # One connection: every bad packet, then a good one, which is still answered.
    replies = asyncio.run(talk(gateway.port, [*bad.values(), wire(good)], 1, pause_s=0.05))
    assert replies == expected_reply(good)

    letters = read_topic(settings, settings.topic(DEAD_LETTER), len(bad))
    assert len(letters) == len(bad)
    by_raw = {letter.value: decode_headers(letter.headers) for letter in letters}
    for code, raw in bad.items():
        headers = by_raw[raw]
        assert headers["code"] == code, headers["reason"]
        assert headers["reason"] and headers["source"] == "hj212"
        assert headers["peer"].startswith("127.0.0.1:")
    assert "MN=Z13401000010301" in by_raw[WORKED]["reason"]
    assert by_raw[bad["wrong_password"]]["site"] == STATION.id
    assert "a99999" in by_raw[bad["unknown_factor"]]["reason"]
    assert len(messages(settings, "air", 1)) == 1
    for code in bad:
        assert gateway.metric("envwatch_gateway_rejects_total", reason=code) == 1


def test_a_stations_and_a_plants_packets_are_stored_and_judged_by_the_worker(
    settings, start_gateway, start_worker, admin_db, window
):
    """An air station's hourly packet, and a wastewater plant's data logger (ST=32): two hourly
    packets (2061) of one day and the next day's daily packet (2031), which closes the first
    day. Each is stored in its feed's table at its period's end and the plant's closed day is
    judged (it meets neither grade)."""
    worker = start_worker(settings)
    gateway = start_gateway(settings)
    t = window.astimezone(BEIJING).replace(hour=3)
    packet = data_packet(STATION.mn, STATION.pw, "2061", t, AIR)
    answer = asyncio.run(talk(gateway.port, [wire(packet)], 1))
    assert answer == expected_reply(packet)
    day = window.astimezone(BEIJING).replace(hour=0)
    sent = (("2061", 9, timedelta(hours=1)), ("2061", 10, timedelta(hours=1)))
    sent += (("2031", 24, timedelta(days=1)),)
    packets = [
        data_packet(PLANT.mn, PLANT.pw, cn, day + timedelta(hours=h), EFFLUENT, st="32")
        for cn, h, _ in sent
    ]
    answers = asyncio.run(talk(gateway.port, [wire(p) for p in packets], 3))
    assert answers == b"".join(expected_reply(p) for p in packets)

    query = (
        "SELECT period, pm25, pm10, so2, no2, o3, co FROM air_readings"
        " WHERE site_id = %s AND ts = %s"
    )
    rows = wait_until(
        lambda: admin_db.execute(query, (STATION.id, t + timedelta(hours=1))).fetchall() or None,
        60,
        "the gateway's reading in the database",
    )
    print(f"\nlogger sent:      {wire(packet)!r}\ngateway answered: {answer!r}\nrow: {rows}")
    assert rows == [("1h", 35.0, 60.0, 8.0, 25.0, 90.0, 0.7)]
    query = (
        "SELECT ts, cod, bod5, ss, tn, nh3n, tp, ph, fecal_coliform, temp, flow, flags->>'cod'"
        " FROM wastewater_readings WHERE site_id = %s AND ts > %s AND ts < %s + interval '10 days'"
        " ORDER BY ts"  # the test's own window: other tests store this plant's readings too
    )
    rows = wait_until(
        lambda: (found := admin_db.execute(query, (PLANT.id, day, day)).fetchall())
        and len(found) == 3
        and found,
        60,
        "the plant's readings in the database",
    )  # fmt: skip
    print(f"plant's logger sent: {wire(packets[0])!r}\nrows: {rows}")
    assert [r[0] for r in rows] == [day + timedelta(hours=h) + p for _, h, p in sent]
    assert rows[0][1:] == (75.0, 6.0, 8.0, 12.0, 1.5, 0.3, 7.2, 400.0, 18.5, 360.0, "N")
    wait_until(lambda: worker.metric("envwatch_wastewater_grade", site=PLANT.id) == 3, 60, "grade")
    alert = {"condition": "wastewater_over_1b", "site": PLANT.id, "parameter": "cod"}
    assert worker.metric("envwatch_alert_value", **alert) == 3
    assert worker.metric("envwatch_reading_value", site=PLANT.id, parameter="cod_24h") == 75.0
    assert gateway.metric("envwatch_gateway_readings_total", feed="wastewater") == 3


CONNECTIONS = 1000
PACKETS_EACH = 10


def test_a_thousand_loggers_sending_minute_data_lose_nothing(settings, start_gateway, tmp_path):
    register = write_register(tmp_path / "register", {"water": -(-CONNECTIONS // 23)})
    sections = list(load_reference(register).sites("water").values())[:CONNECTIONS]
    gateway = start_gateway(settings, ENVWATCH_REFERENCE_DIR=str(register))
    t0 = datetime(2026, 11, 1, tzinfo=BEIJING)

    async def logger(n: int) -> int:
        section = sections[n]
        packets = [
            data_packet(section.mn, section.pw, "2051", t0 + timedelta(minutes=10 * i), WATER,
                        st="21")
            for i in range(PACKETS_EACH)
        ]  # fmt: skip
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        answered = 0
        for packet in packets:  # as a logger does: send, wait for the answer, send the next
            writer.write(wire(packet))
            await writer.drain()
            reply = await asyncio.wait_for(reader.readuntil(b"\r\n"), 60)
            assert reply == expected_reply(packet)
            answered += 1
        writer.close()
        return answered

    async def all_loggers() -> list[int]:
        return await asyncio.gather(*(logger(n) for n in range(CONNECTIONS)))

    answered = asyncio.run(all_loggers())
    total = CONNECTIONS * PACKETS_EACH
    assert sum(answered) == total
    readings = messages(settings, "water", total, timeout_s=120)
    got = {(m["section_id"], m["ts"]) for m in readings}
    assert len(readings) == total and len(got) == total  # every one, none twice
    assert gateway.metric("envwatch_gateway_readings_total") == total
    assert gateway.metric("envwatch_gateway_rejects_total") == 0


def test_keepalive_is_answered_oversize_refused_and_an_idle_logger_dropped(settings, start_gateway):
    gateway = start_gateway(
        settings, ENVWATCH_GATEWAY_IDLE_S="1.5", ENVWATCH_GATEWAY_MAX_SEGMENT="300"
    )
    t = datetime(2026, 11, 28, 11, tzinfo=BEIJING)
    keepalive = Packet(qn="20261128110000000", st="22", cn="2081", pw=STATION.pw, mn=STATION.mn,
                       flag=5, data_time=t)  # fmt: skip
    oversize = wire(data_packet(STATION.mn, STATION.pw, "2061", t, AIR | WATER))
    assert len(oversize) > 300 + 12

    async def session() -> tuple[bytes, float]:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        writer.write(oversize + wire(keepalive))
        await writer.drain()
        reply = await asyncio.wait_for(reader.readuntil(b"\r\n"), 10)
        began = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the gateway
        return reply, asyncio.get_running_loop().time() - began

    reply, waited = asyncio.run(session())
    assert reply == expected_reply(keepalive)
    assert 1.0 < waited < 5.0
    assert gateway.metric("envwatch_gateway_packets_total", kind="keepalive") == 1
    assert gateway.metric("envwatch_gateway_rejects_total", reason="too_large") == 1
    assert gateway.metric("envwatch_gateway_connections_closed_total", why="idle") == 1
    assert gateway.metric("envwatch_gateway_connections") == 0
    # The refused packet is dead-lettered in pieces no longer than the largest packet allowed.
    letters = read_topic(settings, settings.topic(DEAD_LETTER), 3)
    assert b"".join(letter.value for letter in letters) == oversize
    first = decode_headers(letters[0].headers)
    assert first["code"] == "too_large" and "at most 300" in first["reason"]
    assert all(len(letter.value) <= 300 + 12 for letter in letters)
    assert read_topic(settings, settings.topic("air"), 1, timeout_s=2) == []
