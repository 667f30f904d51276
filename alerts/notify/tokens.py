"""Acknowledge tokens: short, signed, one per alert instance. Pure.

A token names one alert instance, Alertmanager's fingerprint of its labels and the second it
began firing, and when the token stops working; an HMAC-SHA256 tag (96 bits) over those binds
them, so a token cannot be altered to name another alert or live longer. 28 bytes in URL-safe
base64: 38 characters, short enough for a chat message and a terminal.

Whether the instance still fires is not the token's to say: the relay asks Alertmanager, so a
token is refused once its alert has resolved even before it expires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from typing import Literal

_LAYOUT = struct.Struct(">8sII")  # fingerprint (64 bits), starts_at, expires_at (Unix seconds)
_TAG_BYTES = 12
_DOMAIN = b"envwatch-ack-v1\0"  # a tag made for anything else never verifies here


@dataclass(frozen=True)
class Grant:
    """What a valid token allows: acknowledging this alert instance until ``expires_at``."""

    fingerprint: str  # Alertmanager's, 16 hex digits
    starts_at: int
    expires_at: int


class TokenError(ValueError):
    def __init__(self, reason: Literal["malformed", "forged", "expired"]) -> None:
        super().__init__(reason)
        self.reason = reason


def _tag(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, _DOMAIN + body, hashlib.sha256).digest()[:_TAG_BYTES]


def mint(key: bytes, grant: Grant) -> str:
    body = _LAYOUT.pack(bytes.fromhex(grant.fingerprint), grant.starts_at, grant.expires_at)
    return base64.urlsafe_b64encode(body + _tag(key, body)).decode().rstrip("=")


def verify(key: bytes, token: str, now: float) -> Grant:
    """The grant of a token made with ``key``; TokenError says why not."""
    try:
        raw = base64.urlsafe_b64decode(token.strip() + "=" * (-len(token.strip()) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("malformed") from None
    if len(raw) != _LAYOUT.size + _TAG_BYTES:
        raise TokenError("malformed")
    body, tag = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
    if not hmac.compare_digest(tag, _tag(key, body)):
        raise TokenError("forged")
    fingerprint, starts_at, expires_at = _LAYOUT.unpack(body)
    if now >= expires_at:
        raise TokenError("expired")
    return Grant(fingerprint.hex(), starts_at, expires_at)


def signing_key(secret: str, bearer: str) -> bytes:
    """The key tokens are signed with: the configured secret, or one derived from the relay's
    bearer token (so acknowledgements work without a second secret to deploy)."""
    if secret:
        return secret.encode()
    return hmac.new(bearer.encode(), b"envwatch-ack-key", hashlib.sha256).digest()
