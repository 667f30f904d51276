"""The relay's messages: what the on-call staff read on their phones."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from alerts.notify import format as fmt

NOW = datetime(2026, 11, 28, 2, 5, tzinfo=UTC)  # 10:05 in Beijing
NAMES = fmt.Names(
    counties={"yiwu": "义乌市", "dongyang": "东阳市"}, sites={"air-yiwu-01": "义乌稠城"}
)
GRAFANA = "http://grafana.example:3000/"


def alert(status: str = "firing", **annotations: str) -> dict:
    return {
        "status": status,
        "labels": {
            "alertname": "AirAqiHeavy",
            "severity": "critical",
            "county": "yiwu",
            "site": "air-yiwu-01",
            "parameter": "aqi",
            "condition": "air_aqi_heavy",
            "feed": "air",
        },
        "annotations": {
            "title_zh": "空气重度污染",
            "summary_zh": "air-yiwu-01（yiwu）小时 AQI 235，超过 200，已达重度污染",
            "value": "235",
            "limit": "200",
            "unit": "",
            "since_timestamp": "1.795824e+09",  # 2026-11-28 08:00 Beijing, as Prometheus prints it
            "dashboard_path": "/d/envwatch-air-station/air-station?var-station=air-yiwu-01",
            "runbook_url": "docs/oncall.md#airaqiheavy",
        }
        | annotations,
        "startsAt": "2026-11-28T00:01:00Z",
        "endsAt": "2026-11-28T02:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
    }


def payload(*alerts: dict, status: str = "firing") -> dict:
    return {
        "version": "4",
        "status": status,
        "receiver": "oncall-critical",
        "groupLabels": {"alertname": "AirAqiHeavy", "county": "yiwu", "site": "air-yiwu-01"},
        "commonLabels": {"alertname": "AirAqiHeavy", "severity": "critical", "county": "yiwu"},
        "commonAnnotations": {"title_zh": "空气重度污染"},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def test_firing_wecom_message_names_everything_on_call_needs() -> None:
    message = fmt.wecom_message(payload(alert()), NAMES, GRAFANA, NOW)
    assert message["msgtype"] == "markdown"
    assert message["markdown"]["content"].splitlines() == [
        "### 【严重】金华 义乌市 空气重度污染",
        "",
        "> 站点：义乌稠城（air-yiwu-01）",
        "> 区县：义乌市",
        "> 参数：AQI",
        "> 当前值：235，限值：200",
        "> 开始：2026-11-28 08:00（已持续 2小时5分）",
        "> 说明：air-yiwu-01（yiwu）小时 AQI 235，超过 200，已达重度污染",
        "> [查看看板](http://grafana.example:3000/d/envwatch-air-station/air-station?var-station=air-yiwu-01)",
        "> 处置手册：docs/oncall.md#airaqiheavy",
    ]


def test_resolved_message_says_so_and_gives_the_end_and_the_total_duration() -> None:
    message = fmt.dingtalk_message(payload(alert("resolved"), status="resolved"), NAMES, "", NOW)
    assert message["markdown"]["title"] == "【已恢复】金华 义乌市 空气重度污染"
    text = message["markdown"]["text"]
    assert text.startswith("### 【已恢复】金华 义乌市 空气重度污染")
    assert "> 开始：2026-11-28 08:00（共持续 2小时）" in text
    assert "> 恢复：2026-11-28 10:00" in text


def test_a_group_with_firing_and_resolved_alerts_lists_the_resolved_apart() -> None:
    done = alert("resolved") | {"labels": alert()["labels"] | {"parameter": "pm25_1h"}}
    text = fmt.markdown(payload(alert(), done), NAMES, "", NOW, 4096)[1]
    assert text.index("参数：AQI") < text.index("**已恢复：**") < text.index("参数：PM2.5（1小时）")


@pytest.mark.parametrize(
    ("raw", "unit", "shown"),
    [
        ("235", "", "235"),
        ("80.456", "µg/m³", "80.46 µg/m³"),
        ("4.1e+06", "吨标准煤", "4100000吨标准煤"),
        ("6", "类", "劣Ⅴ类"),
        ("3", "类", "Ⅲ类"),
        ("72.5", "%", "72.5%"),
        ("8100", "s", "2小时15分"),
        ("", "", ""),
    ],
)
def test_quantities_are_shown_as_staff_write_them(raw: str, unit: str, shown: str) -> None:
    assert fmt.quantity(raw, unit) == shown


def test_pipeline_alerts_without_site_are_city_wide_and_fall_back_to_starts_at() -> None:
    down = {
        "status": "firing",
        "labels": {"alertname": "WorkerDown", "severity": "critical", "county": "all"},
        "annotations": {"title_zh": "处理进程宕机", "summary_zh": "处理进程 w1 无法抓取指标"},
        "startsAt": "2026-11-28T02:00:00Z",
    }
    head, text = fmt.markdown(
        payload(down) | {"commonLabels": down["labels"], "commonAnnotations": {}},
        NAMES,
        "",
        NOW,
        4096,
    )
    assert head == "【严重】金华 全市 处理进程宕机"
    assert "站点" not in text
    assert "> 开始：2026-11-28 10:00（已持续 5分）" in text


def test_unknown_codes_are_shown_as_they_are() -> None:
    stranger = alert() | {"labels": alert()["labels"] | {"county": "x9", "site": "air-x9-01"}}
    head, text = fmt.markdown(payload(stranger) | {"commonLabels": {}}, fmt.Names(), "", NOW, 4096)
    assert head == "【严重】金华 x9 空气重度污染"
    assert "> 站点：air-x9-01" in text


def test_long_incidents_are_cut_to_the_wecom_limit() -> None:
    many = [alert(summary_zh="很长的说明" * 40) for _ in range(30)]
    content = fmt.wecom_message(payload(*many), NAMES, GRAFANA, NOW)["markdown"]["content"]
    assert len(content.encode()) <= fmt.WECOM_MAX_BYTES
    assert content.endswith("共 30 条")


def test_dingtalk_signature_is_hmac_sha256_of_timestamp_and_secret() -> None:
    secret, ts = "SEC0123456789abcdef", 1764295200000
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert fmt.dingtalk_sign(secret, ts) == expected
    url = fmt.dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=T", secret, ts)
    query = parse_qs(urlsplit(url).query)  # parse_qs undoes the URL encoding of + / =
    assert query == {"access_token": ["T"], "timestamp": [str(ts)], "sign": [expected]}
    assert (
        fmt.dingtalk_url("https://x/send?access_token=T", "", ts) == "https://x/send?access_token=T"
    )


def test_json_fallback_keeps_the_original_payload() -> None:
    original = payload(alert())
    message = fmt.json_message(original, NAMES, GRAFANA, NOW)
    assert message["title"] == "【严重】金华 义乌市 空气重度污染"
    assert message["alertmanager"] == original
