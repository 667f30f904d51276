"""``envwatch notify``: placeholder until its module lands; says so rather than pretending."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("notify", help="not available yet")
    parser.set_defaults(func=lambda args, settings: (print("not available yet") or 2))
