"""``envwatch push FILE --feed air|water|energy``: send an agency's file to its feed topic."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from envwatch.failures import NotConfiguredError
from schemas.feeds import FEEDS
from streams.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "push",
        help="validate and send a CSV or JSON Lines file of readings",
        description="Columns (CSV) or keys (JSONL) are the feed's field names; see "
        "schemas/feeds/<feed>.schema.json. Broker and SASL/TLS settings come from "
        "ENVWATCH_KAFKA_* variables.",
    )
    parser.add_argument("file", type=Path)
    parser.add_argument("--feed", required=True, choices=tuple(FEEDS))
    parser.add_argument(
        "--batch", type=int, default=60, help="readings of one site per message (default 60)"
    )
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="send every line as it is; the worker dead-letters bad ones",
    )
    parser.add_argument(
        "--encoding",
        help="the file's text encoding, e.g. utf-8, gbk, gb18030 (default: detected)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from kafka import KafkaProducer

    from envwatch.progress import LateProgressBar
    from schemas.decode import FeedDecoder, Rules
    from schemas.feeds import FEEDS
    from schemas.reference import load_reference
    from streams.kafka_config import kafka_python_config
    from streams.push import Pusher, count_lines, open_readings
    from streams.topics import feed_topic

    if not settings.kafka_configured:
        raise NotConfiguredError("set ENVWATCH_KAFKA_BOOTSTRAP to the broker address")
    if not args.file.is_file():
        raise NotConfiguredError(f"{args.file}: no such file")
    source = open_readings(args.file, args.feed, args.encoding)
    if source.detected and not args.quiet:
        print(f"{args.file}: read as {source.encoding} (detected)", flush=True)
    decoder = None
    if not args.no_validate:
        reference = load_reference(settings.reference_dir)
        decoder = FeedDecoder(
            FEEDS[args.feed],
            Rules(
                known_sites=reference.sites(args.feed),
                max_future=timedelta(seconds=settings.max_future_s),
                earliest=datetime(settings.earliest_year, 1, 1, tzinfo=UTC),
                max_bytes=settings.max_message_bytes,
            ),
        )
    producer = KafkaProducer(
        **kafka_python_config(settings),
        acks="all",
        linger_ms=20,
        max_request_size=max(settings.max_message_bytes * 2, 1_048_576),
    )
    bar = (
        None if args.quiet else LateProgressBar(f"pushing {args.file.name}", count_lines(args.file))
    )
    try:
        pusher = Pusher(
            producer, feed_topic(settings, args.feed), args.feed, decoder, args.batch, bar
        )
        report = pusher.push(source.lines())
    finally:
        if bar is not None:
            bar.close()
        producer.close()
    for number, reason in report.rejected:
        print(f"{args.file}:{number}: rejected: {reason}")
    for failure in report.failed:
        print(f"{args.file}: not delivered: {failure}")
    print(
        f"{report.lines} lines, {report.readings_sent} readings in {report.messages_sent} "
        f"messages sent, {len(report.rejected)} rejected"
    )
    return 1 if report.rejected or report.failed else 0
