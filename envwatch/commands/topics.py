"""``envwatch topics``: create the feed, dead-letter and alert topics that are missing."""

from __future__ import annotations

import argparse

from streams.settings import Settings
from streams.topics import ensure_topics


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("topics", help="create missing topics with configured partitions")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    created = ensure_topics(settings)
    print("created: " + (", ".join(created) if created else "nothing, all exist"))
    return 0
