"""The HJ 212 gateway's rate: many logger connections sending hourly data, each waiting for its
9014 answer before the next packet (as loggers do), into the feed topics of the embedded
broker; beside it, a raw aiokafka producer sending the same readings as single messages.

One packet is one reading (one station-hour of six pollutants), so packets/s and readings/s
differ only if a packet is refused; values/s counts the pollutant values.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from bench.kafka import produce
from bench.payloads import Message
from bench.stack import Process, Stack
from envwatch.embedded import free_port, wait_for_port
from schemas.hj212.factors import load_factors
from schemas.hj212.frame import encode
from schemas.hj212.readings import Converter
from schemas.hj212.segment import BEIJING, Factor, Packet, render
from schemas.reference import Reference
from streams.settings import Settings

VALUES = {"a34004": 35.0, "a34002": 60.0, "a21026": 8.0, "a21004": 25.0, "a05024": 90.0,
          "a21005": 0.7}  # fmt: skip


@dataclass(frozen=True)
class GatewayRun:
    connections: int
    packets: int
    seconds: float
    answered: int
    readings_produced: float
    raw_produce_msgs_s: float

    @property
    def packets_s(self) -> float:
        return self.packets / self.seconds


def start(stack: Stack, settings: Settings, name: str) -> tuple[Process, int]:
    """``envwatch gateway`` for these settings, up; returns it and its TCP port."""
    port, metrics_port = free_port(), free_port()
    env = {
        "ENVWATCH_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "ENVWATCH_TOPIC_PREFIX": settings.topic_prefix,
        "ENVWATCH_GATEWAY_HOST": "127.0.0.1",
        "ENVWATCH_GATEWAY_METRICS_PORT": str(metrics_port),
        "ENVWATCH_REFERENCE_DIR": str(settings.reference_dir),
    }
    cwd = stack.root / name
    cwd.mkdir(exist_ok=True)
    args = ["-m", "envwatch.cli", "gateway", "--port", str(port)]
    process = Process(args, env, metrics_port, stack.root / f"{name}.log", cwd).start()
    stack.processes.append(process)
    process.wait_up()
    wait_for_port(port)
    return process, port


def workload(
    register: Reference, connections: int, each: int, start_at: datetime
) -> tuple[list[list[bytes]], list[Message]]:
    """Per connection, ``each`` consecutive hourly packets of one station; and the same
    readings as an agency would send them itself, one message each (the raw producer's)."""
    convert = Converter("air", load_factors()["air"])
    factors = {code: Factor(avg=v, min=v, max=v, flag="N") for code, v in VALUES.items()}
    per_connection, raw = [], []
    for station in list(register.sites("air").values())[:connections]:
        assert station.mn and station.pw
        packets = []
        for h in range(each):
            at = start_at + timedelta(hours=h)
            packet = Packet(qn=f"{at:%Y%m%d%H%M%S}000", st="22", cn="2061", pw=station.pw,
                            mn=station.mn, flag=5, data_time=at, factors=factors)  # fmt: skip
            packets.append(encode(render(packet)))
            value = orjson.dumps(convert.message(packet, station.id))
            raw.append(Message("air", station.id.encode(), value, 1, len(VALUES)))
        per_connection.append(packets)
    return per_connection, raw


async def _logger(port: int, packets: list[bytes]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answered = 0
    for packet in packets:
        writer.write(packet)
        await writer.drain()
        if (await reader.readuntil(b"\r\n")).startswith(b"##"):
            answered += 1
    writer.close()
    return answered


async def measure(
    stack: Stack, settings: Settings, register: Reference, connections: int, each: int,
    start_at: datetime,
) -> GatewayRun:  # fmt: skip
    per_connection, raw = workload(register, connections, each, start_at.astimezone(BEIJING))
    gateway, port = start(stack, settings, "gateway")
    began = time.perf_counter()
    answered = await asyncio.gather(*(_logger(port, p) for p in per_connection))
    seconds = time.perf_counter() - began
    produced = gateway.metric("envwatch_gateway_readings_total")
    stack.stop([gateway])
    raw_s = await produce(settings, raw)
    return GatewayRun(connections, sum(map(len, per_connection)), seconds, sum(answered),
                      produced, len(raw) / raw_s)  # fmt: skip
