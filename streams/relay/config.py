"""The relay's configuration, from the settings object the command passes in.

Acknowledgement needs somewhere to record who acknowledged (the database) and Alertmanager's
API (silences, what still fires): with no database configured the relay adds no acknowledge
links and runs as a plain relay.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from alerts.notify import format as fmt
from alerts.notify import tokens
from alerts.notify.escalation import Delays, EscalationConfigError, delays
from streams.relay.acknowledge import AckSettings

log = logging.getLogger(__name__)
CHANNELS = ("wecom", "dingtalk", "json")  # the built-in channels; named robots add more
MESSAGES: dict[str, Callable[..., dict]] = {
    "wecom": fmt.wecom_message,
    "dingtalk": fmt.dingtalk_message,
    "json": fmt.json_message,
}


class RelayConfigError(ValueError):
    """The relay cannot start as configured; the message says what to set."""


@dataclass(frozen=True)
class RelayConfig:
    token: str  # the bearer token every request must carry; never empty
    wecom_url: str = ""
    dingtalk_url: str = ""
    dingtalk_secret: str = ""
    fallback_url: str = ""
    robots: Mapping[str, str] = field(default_factory=dict)  # further WeCom robots, by channel
    links: fmt.Links = field(default_factory=fmt.Links)
    names: fmt.Names = field(default_factory=fmt.Names)
    attempts: int = 3
    backoff_s: float = 1.0  # doubled after each failed attempt
    timeout_s: float = 10.0
    acks: AckSettings | None = None  # None: no acknowledge links (no database configured)
    alertmanager_url: str = ""
    ack_user_header: str = ""  # set by the bureau's proxy to the signed-in user, if it does
    dingtalk_app_secret: str = ""  # signs the DingTalk robot's @-messages (the chat command)
    escalation: Delays = field(default_factory=dict)

    def message(self, channel: str) -> Callable[..., dict]:
        """The message builder of a channel; named robots are WeCom group robots."""
        return MESSAGES.get(channel, fmt.wecom_message)

    def robot_url(self, channel: str, now_ms: int) -> str:
        """The channel's URL as of ``now_ms`` (DingTalk's signature embeds the time)."""
        if channel == "wecom":
            return self.wecom_url
        if channel == "dingtalk" and self.dingtalk_url:
            return fmt.dingtalk_url(self.dingtalk_url, self.dingtalk_secret, now_ms)
        return self.robots.get(channel, "")


CONFIG = web.AppKey("config", RelayConfig)


def bearer_token(settings: Any) -> str:
    """``ENVWATCH_NOTIFY_TOKEN`` (the settings read it from ``ENVWATCH_NOTIFY_TOKEN_FILE`` when
    that names a file, as every secret)."""
    given = settings.notify_token.get_secret_value().strip()
    if not given:
        raise RelayConfigError(
            "no bearer token: set ENVWATCH_NOTIFY_TOKEN or ENVWATCH_NOTIFY_TOKEN_FILE "
            "(the same token Alertmanager sends, alerts/alertmanager.yml)"
        )
    return given


def _names(settings: Any) -> fmt.Names:
    """The register's Chinese names (codes are shown if it cannot be read)."""
    try:
        from schemas.reference import load_reference

        ref = load_reference(settings.reference_dir)
        return fmt.Names(
            counties={c.code: c.name_zh for c in ref.counties.values()},
            sites={
                site.id: site.name_zh for sites in ref.by_feed.values() for site in sites.values()
            },
        )
    except (OSError, ValueError) as e:
        log.warning("register not loaded, messages will show codes: %s", e)
        return fmt.Names()


def _robots(text: str) -> dict[str, str]:
    """``{"channel": "robot URL"}`` from ENVWATCH_NOTIFY_ROBOTS (its keys never in an error)."""
    try:
        robots = json.loads(text) if text.strip() else {}
    except ValueError:
        raise RelayConfigError("ENVWATCH_NOTIFY_ROBOTS is not JSON") from None
    if not isinstance(robots, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in robots.items()
    ):
        raise RelayConfigError('ENVWATCH_NOTIFY_ROBOTS must be {"channel": "robot URL", ...}')
    if clash := sorted(set(robots) & set(CHANNELS)):
        raise RelayConfigError(f"ENVWATCH_NOTIFY_ROBOTS: {', '.join(clash)} is a built-in channel")
    return robots


def config_from_settings(settings: Any) -> RelayConfig:
    token = bearer_token(settings)
    names = _names(settings)
    robots = _robots(settings.notify_robots.get_secret_value())
    try:
        escalation = delays(settings.notify_escalation_after_s, names.counties)
    except EscalationConfigError as e:
        raise RelayConfigError(f"ENVWATCH_NOTIFY_ESCALATION_AFTER_S: {e}") from None
    primary = tuple(c for c, url in (("wecom", settings.notify_wecom_url),
                                     ("dingtalk", settings.notify_dingtalk_url))
                    if url.get_secret_value()) or ("json",)  # fmt: skip
    acks = None
    if settings.database_configured:
        acks = AckSettings(
            key=tokens.signing_key(settings.notify_ack_secret.get_secret_value(), token),
            ttl_s=settings.notify_ack_ttl_s,
            silence_max_s=settings.notify_ack_silence_max_s,
            poll_s=settings.notify_ack_poll_s,
            channels=primary,
        )
    return RelayConfig(
        token=token,
        wecom_url=settings.notify_wecom_url.get_secret_value(),
        dingtalk_url=settings.notify_dingtalk_url.get_secret_value(),
        dingtalk_secret=settings.notify_dingtalk_secret.get_secret_value(),
        fallback_url=settings.notify_fallback_url,
        robots=robots,
        links=fmt.Links(
            grafana=settings.public_grafana_url or settings.grafana_url,
            runbook=settings.runbook_url,
            relay=settings.notify_public_url,
        ),
        names=names,
        acks=acks,
        alertmanager_url=settings.alertmanager_url,
        ack_user_header=settings.notify_ack_user_header,
        dingtalk_app_secret=settings.notify_dingtalk_app_secret.get_secret_value(),
        escalation=escalation,
    )
