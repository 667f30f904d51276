"""``envwatch notify``: the relay between Alertmanager and the WeCom / DingTalk robots."""

from __future__ import annotations

import argparse
import logging

from envwatch.failures import NotConfiguredError
from streams.settings import Settings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "notify",
        help="relay Alertmanager webhooks to WeCom/DingTalk robots (ENVWATCH_NOTIFY_*)",
        description="POST /alertmanager?channel=wecom|dingtalk|json, GET /healthz; "
        "listens on ENVWATCH_NOTIFY_HOST:ENVWATCH_NOTIFY_PORT (default 127.0.0.1:9095); every "
        "request needs the bearer token ENVWATCH_NOTIFY_TOKEN (or ENVWATCH_NOTIFY_TOKEN_FILE).",
    )
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from streams.acknowledgements import HistoryStore
    from streams.relay.config import RelayConfigError, config_from_settings
    from streams.relay.server import build_app

    try:
        config = config_from_settings(settings)
    except RelayConfigError as e:
        raise NotConfiguredError(str(e)) from None
    if not (config.wecom_url or config.dingtalk_url or config.fallback_url):
        log.warning("no robot or fallback URL configured: every notification will get a 502")
    if not settings.public_grafana_url:
        log.info("dashboard links start with ENVWATCH_GRAFANA_URL %s (a phone must reach it; "
                 "else set ENVWATCH_PUBLIC_GRAFANA_URL)", settings.grafana_url)  # fmt: skip
    if not config.links.runbook:
        log.warning("no ENVWATCH_RUNBOOK_URL: messages will have no runbook link")
    store = None
    if config.acks is None:
        log.warning("acknowledgement off: set ENVWATCH_DATABASE_URL to record who acknowledged")
    else:
        store = HistoryStore(settings.database_conninfo)
        if not config.links.relay:
            log.warning("no ENVWATCH_NOTIFY_PUBLIC_URL: messages give the acknowledge code, "
                        "no link")  # fmt: skip
    web.run_app(
        build_app(config, store),
        host=settings.notify_host,
        port=settings.notify_port,
        print=lambda text: log.info("%s", text.strip()),
    )
    return 0
