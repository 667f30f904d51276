"""``envwatch migrate``: bring the database schema up to date and load the city's register."""

from __future__ import annotations

import argparse
import logging
import time

import psycopg

from envwatch.failures import NotConfiguredError
from schemas.migrate import migrate
from schemas.register_sync import sync_register
from streams.settings import Settings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("migrate", help="apply SQL migrations and load reference data")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep trying to connect for this long while the database is not up yet "
        "(a stack starting together; default: try once)",
    )
    parser.set_defaults(func=run)


def not_up_yet(exc: psycopg.OperationalError) -> bool:
    """Refused, unreachable or still starting: worth another try (a wrong password is not)."""
    state = exc.sqlstate
    text = str(exc)
    if state is None:
        return "authentication failed" not in text and "does not exist" not in text
    return state == "57P03" or state.startswith("08")  # cannot_connect_now, connection_exception


def run(args: argparse.Namespace, settings: Settings) -> int:
    conninfo = settings.admin_conninfo
    if not conninfo:
        raise NotConfiguredError("set ENVWATCH_DATABASE_ADMIN_URL or ENVWATCH_DATABASE_URL")
    deadline = time.monotonic() + args.wait
    while True:
        try:
            applied = migrate(conninfo)
            break
        except psycopg.OperationalError as exc:
            if time.monotonic() >= deadline or not not_up_yet(exc):
                raise
            log.info("database not up yet, trying again: %s", str(exc).splitlines()[0])
            time.sleep(2.0)
    print("applied: " + (", ".join(applied) if applied else "nothing, already current"))
    print(f"register: {sync_register(conninfo, settings.reference_dir)} sites")
    return 0
