"""``envwatch ack``: acknowledge an alert from a terminal, with the link or code of its message.

It does what the message's link does (``POST /ack/TOKEN`` on the relay, no bearer token: the
signed token is the credential), so the relay records who, silences the alert until it
resolves, stops its escalation and tells the group.
"""

from __future__ import annotations

import argparse
import getpass
import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from streams.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "ack",
        help="acknowledge an alert with the link or code of its message",
        description="Acknowledge one alert: its reminders stop until it resolves, its "
        "escalation stops, and the group is told who acknowledged it.",
    )
    parser.add_argument("token", help="the acknowledge link of the message, or its code (确认码)")
    parser.add_argument("--by", default="", help="who acknowledges (default: your login name)")
    parser.add_argument(
        "--relay",
        default="",
        help="the relay's address, with a bare code (default: ENVWATCH_NOTIFY_PUBLIC_URL)",
    )
    parser.set_defaults(func=run)


def target(given: str, relay: str) -> tuple[str, str]:
    """(relay base URL, token) from a link ``https://relay/ack/TOKEN`` or a bare code."""
    if "/ack/" in given:
        base, _, token = given.rstrip("/").rpartition("/ack/")
        return base, token
    return relay.rstrip("/"), given.strip()


def run(args: argparse.Namespace, settings: Settings) -> int:
    base, token = target(args.token, args.relay or settings.notify_public_url)
    if not token:
        raise SystemExit("envwatch ack: give the acknowledge link or code of the message")
    if not urlsplit(base).scheme:
        raise SystemExit(
            "envwatch ack: give the whole acknowledge link, or --relay (or set "
            "ENVWATCH_NOTIFY_PUBLIC_URL) with the code"
        )
    by = args.by or getpass.getuser()
    request = urllib.request.Request(
        f"{base}/ack/{token}",
        json.dumps({"by": by}).encode(),
        {"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as e:
        try:
            answer = json.load(e)
        except ValueError:
            raise SystemExit(f"envwatch ack: the relay at {base} answered HTTP {e.code}") from None
    except (OSError, ValueError) as e:
        raise SystemExit(f"envwatch ack: cannot reach the relay at {base}: {e}") from None
    line = " ".join(filter(None, (answer.get("message", ""), answer.get("title", ""))))
    if not answer.get("acknowledged"):
        raise SystemExit(f"envwatch ack: {line}")
    print(line)
    return 0
