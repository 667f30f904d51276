"""``envwatch migrate``: bring the database schema up to date and load the city's register."""

from __future__ import annotations

import argparse

from envwatch.failures import NotConfiguredError
from envwatch.settings import Settings
from schemas.migrate import migrate
from schemas.register_sync import sync_register


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("migrate", help="apply SQL migrations and load reference data")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.admin_url:
        raise NotConfiguredError("set ENVWATCH_DATABASE_ADMIN_URL or ENVWATCH_DATABASE_URL")
    applied = migrate(settings.admin_url)
    print("applied: " + (", ".join(applied) if applied else "nothing, already current"))
    print(f"register: {sync_register(settings.admin_url, settings.reference_dir)} sites")
    return 0
