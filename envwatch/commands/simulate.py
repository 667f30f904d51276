"""``envwatch simulate``: realistic feeds for the city's sites, deterministic with a seed."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from envwatch import logs
from envwatch.failures import NotConfiguredError
from streams.settings import Settings


def _when(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("simulate", help="publish simulated readings to the feed topics")
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument(
        "--start", type=_when, default=None, help="simulated start, ISO 8601 (default: 2 days ago)"
    )
    parser.add_argument(
        "--until",
        type=_when,
        default=None,
        help="simulated end (default: run on, live once caught up)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=3600.0,
        help="simulated seconds per wall second (default 3600: an hour a second)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="at most this many messages per second (default: no limit)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from kafka import KafkaProducer

    from schemas.reference import load_reference
    from streams.kafka_config import kafka_python_config
    from streams.simulate import Simulator
    from streams.simulate_run import run_simulation

    if not settings.kafka_configured:
        raise NotConfiguredError("set ENVWATCH_KAFKA_BOOTSTRAP to the broker address")
    start = args.start or datetime.now(UTC) - timedelta(days=2)
    simulator = Simulator(load_reference(settings.reference_dir), seed=args.seed)
    producer = KafkaProducer(**kafka_python_config(settings), linger_ms=20)
    logs.services_reached()
    try:
        sent = run_simulation(
            settings, simulator, producer, start, args.speed, args.rate, until=args.until
        )
    except KeyboardInterrupt:
        sent = -1
    finally:
        producer.close()
    if sent >= 0:
        print(f"{sent} messages sent")
    return 0
