"""``envwatch run``: the whole pipeline on one machine, embedded services where unset."""

from __future__ import annotations

import argparse

from streams.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="start broker and database if unset, worker, simulator")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop after this many seconds (default: until Ctrl-C)",
    )
    parser.add_argument("--speed", default="3600", help="simulator speed (see `simulate -h`)")
    parser.add_argument("--seed", default="2016", help="simulator seed")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from envwatch.runner import run as run_all

    return run_all(settings, ["--speed", args.speed, "--seed", args.seed], args.duration)
