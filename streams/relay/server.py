"""The relay: Alertmanager webhooks in, WeCom / DingTalk robot messages out.

``POST /alertmanager?channel=wecom|dingtalk|json|NAME`` takes Alertmanager's webhook payload
and delivers it to that channel's robot (``NAME``: a further WeCom robot of the settings), with
retries. When the channel has no URL or delivery fails, the plain JSON goes to the fallback
URL. The answer is 200 only when the message was delivered somewhere, otherwise 502, so that
Alertmanager keeps the notification and retries: a page that silently goes nowhere is the one
failure an alerting path must not have. ``GET /healthz`` says the relay is up and which
channels are configured; ``GET /metrics`` is for Prometheus (acknowledgements, escalation
times: ``metrics``).

Every request must carry ``Authorization: Bearer <token>``, or it is answered 401: whoever can
reach the relay could otherwise page the on-call staff. Alertmanager sends the token from a
file (``http_config.authorization.credentials_file`` in ``alerts/alertmanager.yml``). The
acknowledge pages and the chat command (``ack_http``) carry credentials of their own (a signed
token, DingTalk's signature) and are the only paths the bureau's proxy should expose.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from alerts.notify import format as fmt
from streams.relay import ack_http
from streams.relay.acknowledge import Acknowledger, Store
from streams.relay.alertmanager import AlertmanagerAPI
from streams.relay.config import CONFIG, RelayConfig, RelayConfigError
from streams.relay.metrics import RelayMetrics

log = logging.getLogger(__name__)
SESSION = web.AppKey("session", ClientSession)
METRICS = web.AppKey("metrics", RelayMetrics)
PUBLIC_PATHS = ("/ack/", ack_http.DINGTALK_PATH)  # their own credentials, not the bearer's
# A channel is wecom, dingtalk, json, or a further robot's name (ENVWATCH_NOTIFY_ROBOTS); one
# without a robot goes to the fallback URL, so a receiver added to alertmanager.yml before the
# relay knows its robot still reaches someone.
CHANNEL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


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


async def send(
    app: web.Application, channel: str, payload: dict[str, Any], tag: str | None = None
) -> str | None:
    """Deliver a payload to a channel's robot, else to the fallback URL: where it went."""
    config, session = app[CONFIG], app[SESSION]
    args = (payload, config.names, config.links, datetime.now(UTC), tag)
    title = fmt.title(payload, config.names, tag)
    if channel != "json":

        def url() -> str:
            return config.robot_url(channel, int(time.time() * 1000))

        if url():
            if await deliver(session, config, url, config.message(channel)(*args)):
                log.info("delivered to %s: %s", channel, title)
                return channel
            log.error("could not deliver to %s after %d attempts: %s", channel,
                      config.attempts, title)  # fmt: skip
        else:
            log.warning("channel %s has no robot URL configured: %s", channel, title)
    fallback = fmt.json_message(*args)
    fallback_url = config.fallback_url
    if fallback_url and await deliver(session, config, lambda: fallback_url, fallback):
        log.info("delivered to the fallback URL: %s", title)
        return "fallback"
    log.error("NOT DELIVERED: %s", json.dumps(fallback, ensure_ascii=False))
    return None


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
    public = request.path.startswith(PUBLIC_PATHS)
    token = request.app[CONFIG].token
    if not public and not authorized(request.headers.get("Authorization", ""), token):
        log.warning("refused %s %s from %s: no valid bearer token", request.method,
                    request.path, request.remote)  # fmt: skip
        raise web.HTTPUnauthorized(
            text="a bearer token is required (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": 'Bearer realm="envwatch-notify"'},
        )
    return await handler(request)


async def handle_alertmanager(request: web.Request) -> web.Response:
    channel = request.query.get("channel", "json")
    if not CHANNEL_NAME.fullmatch(channel):
        raise web.HTTPBadRequest(text="channel must be wecom, dingtalk, json or a robot's name")
    try:
        payload = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
        raise web.HTTPBadRequest(text="not an Alertmanager webhook payload (no alerts list)")
    acks, tag = request.app.get(ack_http.ACKS), None
    if acks is not None:
        prepared = await acks.prepare(payload, channel)
        if prepared is None:
            log.info("nothing new for %s (a resolution already told)", channel)
            return web.json_response({"delivered": None, "told": "already"})
        payload, tag = prepared
    where = await send(request.app, channel, payload, tag)
    if where is None:  # Alertmanager keeps the notification and retries
        return web.json_response({"delivered": None}, status=502)
    if acks is not None:
        await acks.delivered_to(payload, channel)
    return web.json_response({"delivered": where})


async def handle_healthz(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    configured = {
        "wecom": bool(config.wecom_url),
        "dingtalk": bool(config.dingtalk_url),
        "fallback": bool(config.fallback_url),
        **{name: True for name in config.robots},
        "acknowledgement": config.acks is not None,
    }
    return web.json_response({"status": "ok", "configured": configured})


async def handle_metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def build_app(config: RelayConfig, store: Store | None = None) -> web.Application:
    """The aiohttp application: one client session for all deliveries and Alertmanager's API,
    and, with acknowledgement on, the poller of acknowledged alerts (``acknowledge``)."""
    if not config.token:
        raise RelayConfigError("the relay needs a bearer token")
    if config.acks is not None and store is None:
        raise RelayConfigError("acknowledgement needs the history store (the database)")
    app = web.Application(middlewares=[require_token])
    app[CONFIG] = config
    metrics = app[METRICS] = RelayMetrics(CollectorRegistry())
    for (severity, county, level), after in config.escalation.items():
        metrics.escalation_after.labels(severity, county, str(level)).set(after)

    async def client_session(app: web.Application) -> AsyncIterator[None]:
        async with ClientSession(timeout=ClientTimeout(total=config.timeout_s)) as session:
            app[SESSION] = session
            if config.acks is None or store is None:
                yield
                return

            async def to_channel(channel: str, payload: dict[str, Any], tag: str | None) -> Any:
                return await send(app, channel, payload, tag)

            api = AlertmanagerAPI(session, config.alertmanager_url)
            acks = Acknowledger(config.acks, api, store, metrics, to_channel)
            app[ack_http.ACKS] = acks
            poller = asyncio.create_task(acks.run())
            yield
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller

    app.cleanup_ctx.append(client_session)
    app.router.add_post("/alertmanager", handle_alertmanager)
    app.router.add_get("/healthz", handle_healthz)
    app.router.add_get("/metrics", handle_metrics)
    ack_http.add_routes(app)
    return app
