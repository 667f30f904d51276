"""The acknowledge endpoints: the page of a message's link, its form, ``envwatch ack``, and the
DingTalk chat command. None needs the bearer token; each carries credentials of its own.

- ``GET /ack/{token}`` shows what the token acknowledges and a form asking who; it changes
  nothing (chat apps open links to preview them).
- ``POST /ack/{token}``: the form (``by``), or JSON ``{"by": ...}`` from ``envwatch ack``, which
  gets a JSON answer. Behind a proxy that signs users in, the header named by
  ``ENVWATCH_NOTIFY_ACK_USER_HEADER`` names who, whatever the form says.
- ``POST /dingtalk/callback``: DingTalk posts what is said to its robot (``@机器人 确认 TOKEN``),
  signed with the robot's AppSecret; the answer is the robot's reply in the chat. WeCom's group
  robots only send: they have no way to hear a command.
"""

from __future__ import annotations

import hmac
import html
import time

from aiohttp import web

from alerts.notify import format as fmt
from streams.relay.acknowledge import Acknowledger, Outcome
from streams.relay.config import CONFIG, RelayConfig

ACKS = web.AppKey("acks", Acknowledger)
DINGTALK_PATH = "/dingtalk/callback"
COMMANDS = ("确认", "ack")  # the words of the chat command, followed by the token
DINGTALK_SKEW_S = 3600  # DingTalk's own rule: a callback more than an hour off is not its


def _page(status: int, heading: str, body: str = "") -> web.Response:
    text = (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(heading)}</title></head><body>"
        f"<h2>{html.escape(heading)}</h2>{body}</body></html>"
    )
    return web.Response(status=status, text=text, content_type="text/html")


def _acks(request: web.Request) -> Acknowledger:
    acks = request.app.get(ACKS)
    if acks is None:
        raise web.HTTPNotFound(text="acknowledgement is not configured on this relay")
    return acks


def _title(outcome: Outcome, config: RelayConfig) -> str:
    instance = outcome.instance
    if instance is None:
        return ""
    alert = {"labels": dict(instance.labels), "annotations": dict(instance.annotations)}
    return fmt.title({"alerts": [alert]}, config.names)


async def show(request: web.Request) -> web.Response:
    config, acks = request.app[CONFIG], _acks(request)
    outcome = await acks.instance_of(request.match_info["token"])
    if outcome.instance is None:
        return _page(outcome.status, outcome.text)
    who = request.headers.get(config.ack_user_header, "") if config.ack_user_header else ""
    form = (
        f"<p>{html.escape(_title(outcome, config))}</p>"
        '<form method="post"><label>确认人 <input name="by" required maxlength="64" '
        f'value="{html.escape(who, quote=True)}"></label> <button type="submit">确认收到</button>'
        "</form><p>确认后在告警恢复前不再提醒，也不再升级。</p>"
    )
    return _page(200, "确认告警", form)


async def confirm(request: web.Request) -> web.Response:
    config, acks = request.app[CONFIG], _acks(request)
    wants_json = request.content_type == "application/json"
    if wants_json:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="body is not JSON") from None
        by = str(body.get("by", "")) if isinstance(body, dict) else ""
    else:
        by = str((await request.post()).get("by", ""))
    if config.ack_user_header and request.headers.get(config.ack_user_header):
        by = request.headers[config.ack_user_header]
    via = "cli" if wants_json else "link"
    outcome = await acks.acknowledge(request.match_info["token"], by, via)
    title = _title(outcome, config)
    if wants_json:
        answer = {"acknowledged": outcome.status == 200, "message": outcome.text, "title": title}
        return web.json_response(answer, status=outcome.status)
    return _page(outcome.status, outcome.text, f"<p>{html.escape(title)}</p>" if title else "")


def dingtalk_signed(secret: str, timestamp: str, sign: str, now: float) -> bool:
    """Whether a callback is DingTalk's: its time within the hour and its signature right."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs(now * 1000 - stamp) > DINGTALK_SKEW_S * 1000:
        return False
    return hmac.compare_digest(sign.encode(), fmt.dingtalk_sign(secret, stamp).encode())


def command_token(text: str) -> str:
    """The token of ``确认 TOKEN`` / ``ack TOKEN`` in what was said, or ""."""
    words = text.split()
    for i, word in enumerate(words[:-1]):
        if word.lower() in COMMANDS:
            return words[i + 1]
    return ""


async def dingtalk_command(request: web.Request) -> web.Response:
    config, acks = request.app[CONFIG], _acks(request)
    if not config.dingtalk_app_secret:
        raise web.HTTPNotFound(text="the DingTalk chat command is not configured")
    headers = request.headers
    if not dingtalk_signed(config.dingtalk_app_secret, headers.get("timestamp", ""),
                           headers.get("sign", ""), time.time()):  # fmt: skip
        raise web.HTTPForbidden(text="not signed by DingTalk")
    try:
        body = await request.json()
        said = str(body.get("text", {}).get("content", ""))
        by = str(body.get("senderNick") or body.get("senderStaffId") or "")
    except (ValueError, AttributeError):
        raise web.HTTPBadRequest(text="not a DingTalk robot message") from None
    token = command_token(said)
    if not token:
        reply = f"要确认告警，请发送：{COMMANDS[0]} 确认码"
    else:
        outcome = await acks.acknowledge(token, by, "dingtalk")
        reply = " ".join(filter(None, (outcome.text, _title(outcome, config))))
    return web.json_response({"msgtype": "text", "text": {"content": reply}})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ack/{token}", show)
    app.router.add_post("/ack/{token}", confirm)
    app.router.add_post(DINGTALK_PATH, dingtalk_command)
