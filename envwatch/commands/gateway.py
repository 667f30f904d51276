"""``envwatch gateway``: the HJ 212 gateway, data loggers' packets in, feed messages out."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

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
    from schemas.reference import load_reference
    from streams.gateway import run_gateway

    if not settings.kafka_configured:
        raise SystemExit("set ENVWATCH_KAFKA_BOOTSTRAP to the broker address")
    try:
        reference = load_reference(settings.reference_dir)
    except (OSError, ValueError) as e:
        raise SystemExit(f"the register cannot be loaded: {e}") from None
    host = args.host or settings.gateway_host
    port = settings.gateway_port if args.port is None else args.port
    try:
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
            asyncio.run(run_gateway(settings, reference, host, port))
    except OSError as e:
        raise SystemExit(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    except Exception as e:  # the broker: aiokafka's errors share no base worth naming
        raise SystemExit(
            f"gateway stopped: {type(e).__name__}: {e}; check ENVWATCH_KAFKA_BOOTSTRAP"
        ) from None
    return 0
