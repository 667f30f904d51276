"""The HJ 212 gateway: data loggers connect over TCP and their packets become feed messages.

Per connection: reads are split into packets (``schemas.hj212.frame``), each packet is parsed,
its logger found in the register by MN and checked by password, and a data packet becomes an
ordinary feed reading, batched per site with every other connection's and produced to the
feed topic. Only after the broker confirmed it does the logger get its 9014 answer (when the
packet's Flag asks for one). Whatever is refused goes to the dead-letter topic as received,
with a reason and a code; the connection stays open and the next packet is handled.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from schemas.hj212.errors import Hj212Error, UnknownMnError, WrongPasswordError
from schemas.hj212.factors import load_factors
from schemas.hj212.frame import Frame, FrameSplitter
from schemas.hj212.readings import DATA_COMMANDS, Converter
from schemas.hj212.reply import data_reply
from schemas.hj212.segment import Packet, parse
from schemas.reference import Reference
from streams.deadletter import error_headers
from streams.gateway_metrics import Connection, GatewayMetrics
from streams.kafka_config import aiokafka_config
from streams.settings import Settings
from streams.site_batches import SiteBatches
from streams.topics import DEAD_LETTER, feed_topic

log = logging.getLogger(__name__)
READ_SIZE = 65536
UNKNOWN_FEED = "hj212"  # the feed header of a dead letter whose logger is not known


@dataclass(frozen=True, slots=True)
class Logger:
    feed: str
    site: str
    pw: str


class Gateway:
    def __init__(
        self, settings: Settings, reference: Reference, producer: Any, metrics: GatewayMetrics
    ) -> None:
        minute = timedelta(seconds=settings.gateway_minute_interval_s)
        self._converters = {
            feed: Converter(feed, table, minute) for feed, table in load_factors().items()
        }
        self._loggers = {
            mn: Logger(feed, site.id, site.pw or "")
            for mn, (feed, site) in reference.loggers().items()
        }
        self._topics = {feed: feed_topic(settings, feed) for feed in self._converters}
        self._dead_letter = settings.topic(DEAD_LETTER)
        self._producer = producer
        self._metrics = metrics
        self._idle_s = settings.gateway_idle_s
        self._max_segment = settings.gateway_max_segment
        self.batches = SiteBatches(
            producer, settings.gateway_batch_within_s, settings.gateway_batch_max
        )

    async def serve(self, host: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(self.handle, host, port, limit=READ_SIZE)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One logger's connection, until it closes, idles out or breaks."""
        peer = _peer(writer)
        conn = self._metrics.opened(peer)
        splitter = FrameSplitter(self._max_segment)
        why = "eof"
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), self._idle_s)
                except TimeoutError:
                    why = "idle"
                    break
                if not data:
                    break
                for item in splitter.feed(data):
                    await self._handle(item, conn, writer)
            for error in splitter.close():
                await self._reject(error, conn, None)
        except (ConnectionError, OSError) as exc:
            why = "error"
            log.info("connection from %s broke: %s", peer, exc)
        finally:
            self._metrics.closed(conn, why)
            writer.close()
            rejects = dict(conn.rejects) or "none"
            log.info(
                "logger %s (MN %s) gone (%s): %d packets, rejects %s",
                *(peer, conn.mn or "?", why, conn.packets, rejects),
            )

    async def _handle(
        self, item: Frame | Hj212Error, conn: Connection, writer: asyncio.StreamWriter
    ) -> None:
        if isinstance(item, Hj212Error):
            await self._reject(item, conn, None)
            return
        logger: Logger | None = None
        mn = ""
        try:
            packet = parse(item.segment)
            mn = packet.mn
            logger = self._logger(packet)
            self._admit(packet, logger)
            message = None
            if packet.cn in DATA_COMMANDS:
                message = self._converters[logger.feed].message(packet, logger.site)
        except Hj212Error as error:
            await self._reject(error.with_raw(item.raw), conn, logger, mn)
            return
        if message is not None:
            try:
                await self.batches.send(self._topics[logger.feed], logger.site, message)
            except Exception as exc:
                self._metrics.produce_errors.inc()
                log.warning("not confirmed by the broker, not answered: %s", exc)
                return
            self._metrics.readings.labels(logger.feed).inc()
        kind = "data" if message is not None else "keepalive"
        self._metrics.accepted(conn, logger.feed, logger.site, kind, packet.mn)
        if packet.answer_requested and not packet.cn.startswith("9"):  # replies get no reply
            writer.write(data_reply(packet))
            await writer.drain()

    def _logger(self, packet: Packet) -> Logger:
        logger = self._loggers.get(packet.mn)
        if logger is None:
            raise UnknownMnError(
                f"no site in the register has the data logger MN={packet.mn}; add the logger's "
                "MN and password (columns mn, pw) to the site in the register"
            )
        return logger

    def _admit(self, packet: Packet, logger: Logger) -> None:
        if packet.pw != logger.pw:
            raise WrongPasswordError(
                f"wrong password (PW) for MN={packet.mn} ({logger.feed} site {logger.site}); "
                "set the logger's access password to the register's"
            )
        if logger.feed not in self._converters:
            raise UnknownMnError(
                f"MN={packet.mn} belongs to {logger.feed} site {logger.site}, but the factor "
                f"table (schemas/hj212/factors.toml) has no [{logger.feed}] section; ask the "
                "bureau to add the feed's factor codes"
            )

    async def _reject(
        self, error: Hj212Error, conn: Connection, logger: Logger | None, mn: str = ""
    ) -> None:
        feed, site = (logger.feed, logger.site) if logger else (UNKNOWN_FEED, "")
        headers = error_headers(
            feed, error.reason, error.code, source="hj212", peer=conn.peer, mn=mn, site=site
        )
        key = (site or conn.peer).encode()  # a connection's stray bytes stay in order
        try:
            sent = await self._producer.send(self._dead_letter, error.raw, key=key, headers=headers)
            await sent
        except Exception as exc:  # the broker: logged and counted, the connection goes on
            self._metrics.produce_errors.inc()
            log.warning("dead letter not confirmed by the broker (%s): %s", exc, error.reason)
        self._metrics.rejected(conn, feed, site, error.code)
        log.info("dead-lettered %d bytes from %s: %s", len(error.raw), conn.peer, error.reason)


def _peer(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    return f"{address[0]}:{address[1]}" if address else "unknown"


async def run_gateway(settings: Settings, reference: Reference, host: str, port: int) -> None:
    """Serve until cancelled (SIGINT/SIGTERM): then stop accepting, send what is waiting."""
    from aiokafka import AIOKafkaProducer
    from prometheus_client import CollectorRegistry, start_http_server

    main = asyncio.current_task()
    assert main is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, main.cancel)
    registry = CollectorRegistry()
    metrics = GatewayMetrics(registry)
    producer = AIOKafkaProducer(**aiokafka_config(settings), acks="all", linger_ms=5)
    try:
        await producer.start()
        gateway = Gateway(settings, reference, producer, metrics)
        server = await gateway.serve(host, port)
        if settings.gateway_metrics_port:
            start_http_server(settings.gateway_metrics_port, registry=registry)
        log.info(
            "HJ 212 gateway on %s:%d, metrics on :%d/metrics",
            *(host, port, settings.gateway_metrics_port),
        )
        try:
            async with server:
                await server.serve_forever()
        finally:
            server.close()
            await gateway.batches.drain()
    finally:
        await producer.stop()
