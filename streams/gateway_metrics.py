"""The gateway's metrics: per site (packets, rejects by reason, last packet time) and per open
connection (the same, labelled by the logger's address, for as long as it is connected).

Per-connection series come from a collector over the live connections, so a logger that
reconnects from a new port leaves no stale series behind.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass
class Connection:
    """What one open connection has done, for its series and for the log line at its end."""

    peer: str
    mn: str = ""
    packets: int = 0
    rejects: Tally[str] = field(default_factory=Tally)
    last_packet: float = 0.0


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.packets = Counter(
            "envwatch_gateway_packets",
            "Packets accepted, by site and kind (data forwarded, or keepalive)",
            ["feed", "site", "kind"],
            registry=registry,
        )
        self.readings = Counter(
            "envwatch_gateway_readings",
            "Readings produced to the feed topics (after the broker confirmed them)",
            ["feed"],
            registry=registry,
        )
        self.rejects = Counter(
            "envwatch_gateway_rejects",
            "Packets or stray bytes dead-lettered, by reason code (site empty when unknown)",
            ["feed", "site", "reason"],
            registry=registry,
        )
        self.last_packet = Gauge(
            "envwatch_gateway_last_packet_timestamp_seconds",
            "Unix time of the last accepted packet of a site",
            ["feed", "site"],
            registry=registry,
        )
        self.produce_errors = Counter(
            "envwatch_gateway_produce_errors",
            "Batches the broker did not confirm; their packets were not answered",
            registry=registry,
        )
        self.connections_opened = Counter(
            "envwatch_gateway_connections_opened", "Logger connections accepted", registry=registry
        )
        self.connections_closed = Counter(
            "envwatch_gateway_connections_closed",
            "Logger connections ended, by why (eof, idle, error)",
            ["why"],
            registry=registry,
        )
        self.open: dict[int, Connection] = {}
        registry.register(_LiveConnections(self.open))

    def opened(self, peer: str) -> Connection:
        self.connections_opened.inc()
        conn = Connection(peer)
        self.open[id(conn)] = conn
        return conn

    def closed(self, conn: Connection, why: str) -> None:
        self.connections_closed.labels(why).inc()
        self.open.pop(id(conn), None)

    def accepted(self, conn: Connection, feed: str, site: str, kind: str, mn: str) -> None:
        now = time.time()
        conn.packets, conn.last_packet, conn.mn = conn.packets + 1, now, mn
        self.packets.labels(feed, site, kind).inc()
        self.last_packet.labels(feed, site).set(now)

    def rejected(self, conn: Connection, feed: str, site: str, reason: str) -> None:
        conn.rejects[reason] += 1
        self.rejects.labels(feed, site, reason).inc()


class _LiveConnections(Collector):
    def __init__(self, open_connections: dict[int, Connection]) -> None:
        self._open = open_connections

    def collect(self) -> Iterator[Metric]:
        count = GaugeMetricFamily("envwatch_gateway_connections", "Logger connections open now")
        count.add_metric([], len(self._open))
        packets = CounterMetricFamily(
            "envwatch_gateway_connection_packets",
            "Packets accepted on an open connection",
            labels=["peer", "mn"],
        )
        rejects = CounterMetricFamily(
            "envwatch_gateway_connection_rejects",
            "Rejects on an open connection, by reason code",
            labels=["peer", "mn", "reason"],
        )
        last = GaugeMetricFamily(
            "envwatch_gateway_connection_last_packet_timestamp_seconds",
            "Unix time of the last accepted packet on an open connection",
            labels=["peer", "mn"],
        )
        for conn in list(self._open.values()):
            packets.add_metric([conn.peer, conn.mn], conn.packets)
            last.add_metric([conn.peer, conn.mn], conn.last_packet)
            for reason, n in conn.rejects.items():
                rejects.add_metric([conn.peer, conn.mn, reason], n)
        yield from (count, packets, rejects, last)
