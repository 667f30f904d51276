"""The relay: Alertmanager webhooks in, WeCom / DingTalk robot messages out.

``POST /alertmanager?channel=wecom|dingtalk|json`` takes Alertmanager's webhook payload and
delivers it to that channel's robot, with retries. When the channel has no URL or delivery
fails, the plain JSON goes to the fallback URL. The answer is 200 only when the message was
delivered somewhere, otherwise 502, so that Alertmanager keeps the notification and retries:
a page that silently goes nowhere is the one failure an alerting path must not have.
``GET /healthz`` says the relay is up and which channels are configured.

Every request must carry ``Authorization: Bearer <token>``, or it is answered 401: whoever can
reach the relay could otherwise page the on-call staff. Alertmanager sends the token from a
file (``http_config.authorization.credentials_file`` in ``alerts/alertmanager.yml``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from alerts.notify import format as fmt

log = logging.getLogger(__name__)
CHANNELS = ("wecom", "dingtalk", "json")
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
    links: fmt.Links = field(default_factory=fmt.Links)
    names: fmt.Names = field(default_factory=fmt.Names)
    attempts: int = 3
    backoff_s: float = 1.0  # doubled after each failed attempt
    timeout_s: float = 10.0

    def robot_url(self, channel: str) -> str:
        """The channel's URL as of now (DingTalk's signature embeds the time)."""
        if channel == "wecom":
            return self.wecom_url
        if channel == "dingtalk" and self.dingtalk_url:
            return fmt.dingtalk_url(
                self.dingtalk_url, self.dingtalk_secret, int(time.time() * 1000)
            )
        return ""


SESSION = web.AppKey("session", ClientSession)
CONFIG = web.AppKey("config", RelayConfig)


async def post_once(session: ClientSession, url: str, message: dict) -> str | None:
    """One delivery attempt; None on success, else the reason it failed."""
    try:
        async with session.post(url, json=message) as response:
            body = await response.text()
            if response.status >= 300:
                return f"HTTP {response.status}: {body[:200]}"
    except (ClientError, TimeoutError) as e:
        return f"{type(e).__name__}: {e}"
    try:  # WeCom and DingTalk answer 200 with {"errcode": N}; non-zero is a refusal
        errcode = json.loads(body).get("errcode", 0)
    except (ValueError, AttributeError):
        errcode = 0
    return None if errcode == 0 else f"errcode {errcode}: {body[:200]}"


async def deliver(
    session: ClientSession, config: RelayConfig, url_of: Callable[[], str], message: dict
) -> bool:
    """Up to ``config.attempts`` tries with doubling backoff; logs every failure."""
    delay = config.backoff_s
    for attempt in range(1, config.attempts + 1):
        url = url_of()
        failure = await post_once(session, url, message)
        if failure is None:
            return True
        log.warning("delivery attempt %d/%d failed: %s", attempt, config.attempts, failure)
        if attempt < config.attempts:
            await asyncio.sleep(delay)
            delay *= 2
    return False


def authorized(header: str, token: str) -> bool:
    """Whether an Authorization header carries the bearer token, compared in constant time
    (digests of equal length, so neither the content nor the length of the token leaks)."""
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    given_digest = hashlib.sha256(given.strip().encode()).digest()
    return hmac.compare_digest(given_digest, hashlib.sha256(token.encode()).digest())


@web.middleware
async def require_token(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if not authorized(request.headers.get("Authorization", ""), request.app[CONFIG].token):
        log.warning("refused %s %s from %s: no valid bearer token", request.method,
                    request.path, request.remote)  # fmt: skip
        raise web.HTTPUnauthorized(
            text="a bearer token is required (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": 'Bearer realm="envwatch-notify"'},
        )
    return await handler(request)


async def handle_alertmanager(request: web.Request) -> web.Response:
    channel = request.query.get("channel", "json")
    if channel not in CHANNELS:
        raise web.HTTPBadRequest(text=f"channel must be one of {', '.join(CHANNELS)}")
    try:
        payload = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
        raise web.HTTPBadRequest(text="not an Alertmanager webhook payload (no alerts list)")
    config, session = request.app[CONFIG], request.app[SESSION]
    now = datetime.now(UTC)
    args = (payload, config.names, config.links, now)
    title = fmt.title(payload, config.names)
    if channel != "json":
        if config.robot_url(channel):
            message = MESSAGES[channel](*args)
            if await deliver(session, config, lambda: config.robot_url(channel), message):
                log.info("delivered to %s: %s", channel, title)
                return web.json_response({"delivered": channel})
            log.error(
                "could not deliver to %s after %d attempts: %s", channel, config.attempts, title
            )
        else:
            log.warning("channel %s has no robot URL configured: %s", channel, title)
    fallback = fmt.json_message(*args)
    if config.fallback_url and await deliver(
        session, config, lambda: config.fallback_url, fallback
    ):
        log.info("delivered to the fallback URL: %s", title)
        return web.json_response({"delivered": "fallback"})
    log.error(
        "NOT DELIVERED (Alertmanager will retry): %s", json.dumps(fallback, ensure_ascii=False)
    )
    return web.json_response({"delivered": None, "title": title}, status=502)


async def handle_healthz(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    configured = {
        "wecom": bool(config.wecom_url),
        "dingtalk": bool(config.dingtalk_url),
        "fallback": bool(config.fallback_url),
    }
    return web.json_response({"status": "ok", "configured": configured})


def build_app(config: RelayConfig) -> web.Application:
    """The aiohttp application; one client session for all deliveries, closed on shutdown."""
    if not config.token:
        raise RelayConfigError("the relay needs a bearer token")
    app = web.Application(middlewares=[require_token])
    app[CONFIG] = config

    async def client_session(app: web.Application) -> AsyncIterator[None]:
        async with ClientSession(timeout=ClientTimeout(total=config.timeout_s)) as session:
            app[SESSION] = session
            yield

    app.cleanup_ctx.append(client_session)
    app.router.add_post("/alertmanager", handle_alertmanager)
    app.router.add_get("/healthz", handle_healthz)
    return app


def bearer_token(settings: Any) -> str:
    """``ENVWATCH_NOTIFY_TOKEN``, or the content of ``ENVWATCH_NOTIFY_TOKEN_FILE`` (one line)."""
    given = settings.notify_token.get_secret_value()
    path = settings.notify_token_file
    if given and path:
        raise RelayConfigError("set ENVWATCH_NOTIFY_TOKEN or ENVWATCH_NOTIFY_TOKEN_FILE, not both")
    if path:
        try:
            given = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise RelayConfigError(
                f"cannot read ENVWATCH_NOTIFY_TOKEN_FILE {path}: {e.strerror or e}"
            ) from None
        if not given:
            raise RelayConfigError(f"ENVWATCH_NOTIFY_TOKEN_FILE {path} is empty")
    if not given:
        raise RelayConfigError(
            "no bearer token: set ENVWATCH_NOTIFY_TOKEN or ENVWATCH_NOTIFY_TOKEN_FILE "
            "(the same token Alertmanager sends, alerts/alertmanager.yml)"
        )
    return given


def config_from_settings(settings: Any) -> RelayConfig:
    """The relay's settings and the register's names (codes are shown if it cannot be read)."""
    token = bearer_token(settings)
    try:
        from schemas.reference import load_reference

        ref = load_reference(settings.reference_dir)
        names = fmt.Names(
            counties={c.code: c.name_zh for c in ref.counties.values()},
            sites={
                site.id: site.name_zh
                for feed in ("air", "water", "energy")
                for site in ref.sites(feed).values()
            },
        )
    except (OSError, ValueError) as e:
        log.warning("register not loaded, messages will show codes: %s", e)
        names = fmt.Names()
    return RelayConfig(
        token=token,
        wecom_url=settings.notify_wecom_url.get_secret_value(),
        dingtalk_url=settings.notify_dingtalk_url.get_secret_value(),
        dingtalk_secret=settings.notify_dingtalk_secret.get_secret_value(),
        fallback_url=settings.notify_fallback_url,
        links=fmt.Links(grafana=settings.public_grafana_url, runbook=settings.runbook_url),
        names=names,
    )
