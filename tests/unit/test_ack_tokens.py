"""Acknowledge tokens: one alert instance, unalterable, short-lived."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.notify import tokens

KEY = b"relay-signing-key"
GRANT = tokens.Grant("7a650adb7270273d", 1_796_160_157, 1_796_246_557)


def raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def encoded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_token_gives_back_its_grant_until_it_expires() -> None:
    token = tokens.mint(KEY, GRANT)
    assert len(token) == 38 and token.isascii() and "=" not in token
    assert tokens.verify(KEY, token, GRANT.expires_at - 1) == GRANT
    with pytest.raises(tokens.TokenError) as refused:
        tokens.verify(KEY, token, GRANT.expires_at)
    assert refused.value.reason == "expired"


@given(st.integers(0, 27), st.integers(0, 7))
def test_any_altered_bit_is_refused(position: int, bit: int) -> None:
    altered = bytearray(raw(tokens.mint(KEY, GRANT)))
    altered[position] ^= 1 << bit
    with pytest.raises(tokens.TokenError) as refused:
        tokens.verify(KEY, encoded(bytes(altered)), GRANT.starts_at)
    assert refused.value.reason == "forged"


def test_another_alert_or_a_longer_life_cannot_be_written_in() -> None:
    token = raw(tokens.mint(KEY, GRANT))
    other = bytes.fromhex("0123456789abcdef") + token[8:]
    longer = token[:12] + (GRANT.expires_at + 86400).to_bytes(4, "big") + token[16:]
    for forged in (other, longer):
        with pytest.raises(tokens.TokenError, match="forged"):
            tokens.verify(KEY, encoded(forged), GRANT.starts_at)


@pytest.mark.parametrize("text", ["", "not a token", "AAAA", "A" * 39, "é" * 38])
def test_what_is_not_a_token_is_malformed(text: str) -> None:
    with pytest.raises(tokens.TokenError, match="malformed"):
        tokens.verify(KEY, text, 0)


def test_another_key_refuses_the_token() -> None:
    with pytest.raises(tokens.TokenError, match="forged"):
        tokens.verify(b"another key", tokens.mint(KEY, GRANT), GRANT.starts_at)


def test_the_key_is_the_secret_or_derived_from_the_bearer_token() -> None:
    assert tokens.signing_key("s3cret", "bearer") == b"s3cret"
    derived = tokens.signing_key("", "bearer")
    assert derived not in (b"bearer", b"") and derived == tokens.signing_key("", "bearer")
    assert derived != tokens.signing_key("", "another bearer")
