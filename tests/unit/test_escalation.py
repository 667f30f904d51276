"""Escalation waits per severity and county, and the labels of an escalated alert."""

from __future__ import annotations

import pytest

from alerts.notify.escalation import EscalationConfigError, delays
from alerts.notify.format import dingtalk_sign
from streams.relay.ack_http import command_token, dingtalk_signed
from streams.relay.escalated import escalated_labels

COUNTIES = ("yiwu", "lanxi")


def test_the_default_climbs_at_30_then_60_minutes_in_every_county() -> None:
    got = delays({"critical": [1800, 1800]}, COUNTIES)
    assert got == {
        (severity, county, level): after
        for severity in ("critical",)
        for county in ("all", "lanxi", "yiwu")
        for level, after in ((1, 1800), (2, 3600))
    }


def test_a_county_of_its_own_and_another_severity() -> None:
    got = delays({"critical": [1800, 1800], "critical/yiwu": [600], "warning": [7200]}, COUNTIES)
    assert got[("critical", "yiwu", 1)] == 600 and ("critical", "yiwu", 2) not in got
    assert got[("critical", "lanxi", 2)] == 3600
    assert got[("warning", "lanxi", 1)] == 7200 and ("info", "lanxi", 1) not in got


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"urgent": [60]}, "the severity must be one of critical, warning, info"),
        ({"critical/atlantis": [60]}, "no county 'atlantis' in the register"),
        ({"critical": [60, 60, 60]}, "give 1 to 2 waits"),
        ({"critical": []}, "give 1 to 2 waits"),
        ({"critical": [60, 0]}, "each above 0"),
    ],
)
def test_a_wrong_setting_says_what_is_wrong(config: dict, words: str) -> None:
    with pytest.raises(EscalationConfigError, match=words):
        delays(config, COUNTIES)


def test_an_escalation_names_the_alert_it_escalates() -> None:
    escalation = {"alertname": "AlertEscalated", "escalated": "AirAqiHeavy", "level": "2",
                  "severity": "critical", "county": "yiwu", "site": "air-yiwu-01"}  # fmt: skip
    assert escalated_labels(escalation) == {"alertname": "AirAqiHeavy", "severity": "critical",
                                            "county": "yiwu", "site": "air-yiwu-01"}  # fmt: skip


@pytest.mark.parametrize(
    ("said", "token"),
    [
        ("@值班机器人 确认 AbC-_12", "AbC-_12"),
        ("ack   AbC", "AbC"),
        ("ACK AbC 谢谢", "AbC"),
        ("确认", ""),
        ("收到", ""),
        ("", ""),
    ],
)
def test_the_chat_command_is_a_word_and_the_code(said: str, token: str) -> None:
    assert command_token(said) == token


def test_a_dingtalk_callback_is_signed_and_within_the_hour() -> None:
    now, secret = 1_796_160_000.0, "app-secret"
    stamp = int(now * 1000)
    assert dingtalk_signed(secret, str(stamp), dingtalk_sign(secret, stamp), now)
    assert not dingtalk_signed("other", str(stamp), dingtalk_sign(secret, stamp), now)
    late = stamp - 3601 * 1000
    assert not dingtalk_signed(secret, str(late), dingtalk_sign(secret, late), now)
    assert not dingtalk_signed(secret, "yesterday", dingtalk_sign(secret, stamp), now)
