"""The ``envwatch`` command line: one subcommand per module in ``envwatch.commands``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib import import_module

from envwatch import logs
from envwatch.failures import explain
from streams.settings import Settings, load_settings

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
    "gateway",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="envwatch", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        import_module(f"envwatch.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a failure ends in one line on stderr and exit status 1."""
    args = build_parser().parse_args(argv)
    logs.configure(args.verbose)
    name = " ".join(filter(None, (args.command, getattr(args, "action", None))))
    settings: Settings | None = None
    try:
        settings = load_settings()
        return int(args.func(args, settings) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.verbose:
            logging.getLogger("envwatch").exception("envwatch %s failed", name)
        print(f"envwatch {name}: {explain(exc, settings)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
