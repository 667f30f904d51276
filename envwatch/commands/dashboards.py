"""``envwatch dashboards build|push``: write the dashboards' JSON, or push them to Grafana."""

from __future__ import annotations

import argparse
import os

from streams.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("dashboards", help="build Grafana dashboards or push them to Grafana")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser("build", help="write dashboards/json/*.json from the code")
    build.set_defaults(func=run_build)
    push = actions.add_parser(
        "push",
        help="create or update the folder, data sources and dashboards "
        "(ENVWATCH_GRAFANA_URL, ENVWATCH_GRAFANA_TOKEN)",
    )
    push.add_argument("--prometheus-url", default="http://prometheus:9090")
    push.add_argument("--postgres-host", default="timescaledb:5432", help="host:port")
    push.add_argument("--postgres-db", default="envwatch")
    push.add_argument("--postgres-user", default="envwatch_reader")
    push.add_argument(
        "--postgres-password-env",
        default="ENVWATCH_READER_PASSWORD",
        help="environment variable holding the read-only role's password",
    )
    push.set_defaults(func=run_push)


def run_build(args: argparse.Namespace, settings: Settings) -> int:
    from dashboards.build import write_all

    for path in write_all():
        print(path)
    return 0


def run_push(args: argparse.Namespace, settings: Settings) -> int:
    from dashboards.provision import Sources, push

    sources = Sources(
        prometheus_url=args.prometheus_url,
        postgres_host=args.postgres_host,
        postgres_db=args.postgres_db,
        postgres_user=args.postgres_user,
        postgres_password=os.environ.get(args.postgres_password_env, ""),
    )
    token = settings.grafana_token.get_secret_value()
    for what, outcome in push(settings.grafana_url, token, sources):
        print(f"{what}: {outcome}")
    return 0
