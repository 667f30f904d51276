"""``envwatch worker``: one Faust worker process; run several for more partitions."""

from __future__ import annotations

import argparse
import sys

from envwatch import logs
from envwatch.failures import NotConfiguredError
from streams.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("worker", help="run a stream worker (configured broker and database)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from streams.worker import check_services, run_worker

    if not (settings.kafka_configured and settings.database_configured):
        raise NotConfiguredError(
            "set ENVWATCH_KAFKA_BOOTSTRAP and ENVWATCH_DATABASE_URL "
            "(or use `envwatch run`, which starts embedded ones)"
        )
    check_services(settings)
    logs.services_reached()
    sys.argv = [sys.argv[0]]  # Faust's worker parses the command line itself
    return run_worker(settings)
