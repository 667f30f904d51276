"""``envwatch gateway``: the HJ 212 gateway, data loggers' packets in, feed messages out."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from envwatch.failures import NotConfiguredError
from streams.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "gateway",
        help="receive HJ 212-2017 packets from data loggers over TCP",
        description="Loggers connect over TCP and send HJ 212-2017 packets; data packets "
        "become feed messages (answered with 9014 once the broker has them), everything "
        "refused goes to the dead-letter topic. Broker settings come from ENVWATCH_KAFKA_*.",
    )
    parser.add_argument("--port", type=int, help="TCP port (default ENVWATCH_GATEWAY_PORT, 9212)")
    parser.add_argument("--host", help="address to listen on (default ENVWATCH_GATEWAY_HOST)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until SIGINT/SIGTERM; a failure (no broker, a port taken, a bad register) rises
    to the command line, which says it in one line."""
    from schemas.reference import load_reference
    from streams.gateway import run_gateway

    if not settings.kafka_configured:
        raise NotConfiguredError("set ENVWATCH_KAFKA_BOOTSTRAP to the broker address")
    reference = load_reference(settings.reference_dir)
    host = args.host or settings.gateway_host
    port = settings.gateway_port if args.port is None else args.port
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(run_gateway(settings, reference, host, port))
    return 0
