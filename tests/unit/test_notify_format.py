"""The relay's messages: what the on-call staff read on their phones."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.conditions import CONDITIONS
from alerts.notify import format as fmt

NOW = datetime(2026, 11, 28, 2, 5, tzinfo=UTC)  # 10:05 in Beijing
NAMES = fmt.Names(
    counties={"yiwu": "义乌市", "dongyang": "东阳市"}, sites={"air-yiwu-01": "义乌稠城"}
)
LINKS = fmt.Links(grafana="https://grafana.example.gov.cn/", runbook="https://wiki.example/oncall")


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
            "summary_zh": "air-yiwu-01（yiwu）小时 AQI 超过 200（重度污染）时触发的告警",
            "value": "235",
            "limit": "200",
            "unit": "",
            "since_timestamp": "1.795824e+09",  # 2026-11-28 08:00 Beijing, as Prometheus prints it
            "dashboard_path": "/d/envwatch-air-station/air-station?var-station=air-yiwu-01",
            "runbook": "airaqiheavy",
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
    message = fmt.wecom_message(payload(alert()), NAMES, LINKS, NOW)
    assert message["msgtype"] == "markdown"
    assert message["markdown"]["content"].splitlines() == [
        "### 【严重】金华 义乌市 空气重度污染",
        "",
        "> 站点：义乌稠城（air-yiwu-01）",
        "> 区县：义乌市",
        "> 参数：AQI",
        "> 当前值：235，超过限值 200",
        "> 开始：2026-11-28 08:00（已持续 2小时5分）",
        "> 说明：air-yiwu-01（yiwu）小时 AQI 超过 200（重度污染）时触发的告警",
        "> [查看看板](https://grafana.example.gov.cn/d/envwatch-air-station/air-station?var-station=air-yiwu-01)",
        "> [处置手册](https://wiki.example/oncall#airaqiheavy)",
    ]


def test_in_the_hysteresis_band_the_message_says_below_the_limit_not_yet_cleared() -> None:
    band = alert(value="185", current="185")
    text = fmt.wecom_message(payload(band), NAMES, LINKS, NOW)["markdown"]["content"]
    assert "> 当前值：185，已低于限值 200，尚未低于解除阈值 180" in text
    definition = "超过 200（重度污染）时触发"  # the rule's own words, not a claim about now
    assert "超过" not in text.replace(definition, "")


def test_resolved_message_says_so_and_gives_the_value_at_resolution_and_the_times() -> None:
    done = alert("resolved", value="185", current="150")
    message = fmt.dingtalk_message(payload(done, status="resolved"), NAMES, LINKS, NOW)
    assert message["markdown"]["title"] == "【已恢复】金华 义乌市 空气重度污染"
    assert message["markdown"]["text"].splitlines() == [
        "### 【已恢复】金华 义乌市 空气重度污染",
        "",
        "> 站点：义乌稠城（air-yiwu-01）",
        "> 区县：义乌市",
        "> 参数：AQI",
        "> 恢复时数值：150（限值 200）",
        "> 开始：2026-11-28 08:00（共持续 2小时）",
        "> 恢复：2026-11-28 10:00",
        "> [查看看板](https://grafana.example.gov.cn/d/envwatch-air-station/air-station?var-station=air-yiwu-01)",
        "> [处置手册](https://wiki.example/oncall#airaqiheavy)",
    ]


@pytest.mark.parametrize(
    ("condition", "notes", "resolved", "line"),
    [
        # Above the limit, and the quantity now when the rule gives it.
        ("air_aqi_heavy", {"value": "236", "limit": "200"}, False, "当前值：236，超过限值 200"),
        ("air_aqi_heavy", {"value": "236", "current": "241", "limit": "200"}, False,
         "当前值：241，超过限值 200"),
        # The hysteresis band: below (or at) the limit, not yet at the clear threshold.
        ("air_aqi_light", {"value": "95", "limit": "100"}, False,
         "当前值：95，已低于限值 100，尚未低于解除阈值 90"),
        ("air_aqi_heavy", {"value": "200", "limit": "200"}, False,
         "当前值：200，已不高于限值 200，尚未低于解除阈值 180"),
        ("air_pm25_24h", {"value": "70", "limit": "75", "unit": "µg/m³"}, False,
         "当前值：70 µg/m³，已低于限值 75 µg/m³，尚未低于解除阈值 67.5 µg/m³"),
        # At or below the clear threshold: clearing, until the clear time has passed.
        ("air_aqi_light", {"value": "82", "limit": "100"}, False,
         "当前值：82，已不高于解除阈值 90（限值 100），持续达标后恢复"),
        ("air_aqi_light", {"value": "90", "limit": "100"}, False,
         "当前值：90，已不高于解除阈值 90（限值 100），持续达标后恢复"),
        # No hysteresis: back inside the limit while the rule still holds the alert.
        ("water_class_v", {"value": "5", "limit": "4", "unit": "类"}, False,
         "当前值：Ⅴ类，超过限值 Ⅳ类"),
        ("water_class_v", {"value": "5", "current": "3", "limit": "4", "unit": "类"}, False,
         "当前值：Ⅲ类，已不高于限值 Ⅳ类，即将恢复"),
        ("wastewater_over_grade", {"value": "2", "current": "2", "limit": "1", "unit": "级"},
         False, "当前值：一级B，超过限值 一级A"),
        ("wastewater_over_1b", {"value": "3", "current": "1", "limit": "2", "unit": "级"}, False,
         "当前值：一级A，已不高于限值 一级B，即将恢复"),
        # The plan targets breach below their limit.
        ("target_bad_day_budget", {"value": "8", "limit": "10", "unit": "天"}, False,
         "当前值：8天，低于限值 10天"),
        ("target_bad_day_budget", {"value": "10", "limit": "10", "unit": "天"}, False,
         "当前值：10天，达到限值 10天"),
        ("target_bad_day_budget", {"value": "12", "limit": "10", "unit": "天"}, False,
         "当前值：12天，已高于限值 10天，即将恢复"),
        # Not comparable (a flat line's limit is a count) or not the worker's: no verdict.
        ("dq_flatline", {"value": "57", "limit": "6"}, False, "当前值：57，限值：6"),
        ("", {"value": "7200", "limit": "600", "unit": "s"}, False, "当前值：2小时，限值：10分"),
        ("", {"value": "3"}, False, "当前值：3"),
        ("air_aqi_heavy", {"value": "NaN", "limit": "200"}, False, "当前值：NaN，限值：200"),
        ("", {}, False, ""),
        # Resolved: the value at resolution where the rule gives it, else the last one seen.
        ("air_aqi_heavy", {"value": "185", "current": "150", "limit": "200"}, True,
         "恢复时数值：150（限值 200）"),
        ("water_class_v", {"value": "5", "current": "3", "limit": "4", "unit": "类"}, True,
         "恢复时数值：Ⅲ类（限值 Ⅳ类）"),
        ("", {"value": "7200", "limit": "600", "unit": "s"}, True,
         "恢复前最后数值：2小时（限值 10分）"),
        ("", {"value": "0.4"}, True, "恢复前最后数值：0.4"),
    ],
)  # fmt: skip
def test_the_value_line_is_true_of_the_state_the_alert_is_in(
    condition: str, notes: dict[str, str], resolved: bool, line: str
) -> None:
    assert fmt.value_line({"condition": condition}, notes, resolved) == line


@given(
    condition=st.sampled_from(sorted(CONDITIONS)),
    value=st.floats(0, 1000, allow_nan=False),
    limit=st.floats(0.5, 1000, allow_nan=False),
)
def test_the_value_line_never_claims_what_the_numbers_deny(
    condition: str, value: float, limit: float
) -> None:
    line = fmt.value_line({"condition": condition}, {"value": repr(value), "limit": repr(limit)},
                          resolved=False)  # fmt: skip
    if value <= limit:
        assert "超过" not in line, line
    if value >= limit:
        assert "低于限值" not in line, line
    if value != limit:
        assert "达到限值" not in line, line


def test_links_need_a_configured_base_and_are_never_repository_paths() -> None:
    for links in (fmt.Links(), fmt.Links(grafana="", runbook="")):
        text = fmt.markdown(payload(alert()), NAMES, links, NOW, 4096)[1]
        assert "查看看板" not in text and "处置手册" not in text and "docs/" not in text
    runbook = fmt.Links(runbook="https://wiki.example/oncall#top").runbook_at("airaqiheavy")
    assert runbook == "https://wiki.example/oncall#airaqiheavy"
    assert fmt.Links(grafana="https://g.example").dashboard("/d/x") == "https://g.example/d/x"


def test_a_group_with_firing_and_resolved_alerts_lists_the_resolved_apart() -> None:
    done = alert("resolved") | {"labels": alert()["labels"] | {"parameter": "pm25_1h"}}
    text = fmt.markdown(payload(alert(), done), NAMES, LINKS, NOW, 4096)[1]
    assert text.index("参数：AQI") < text.index("**已恢复：**") < text.index("参数：PM2.5（1小时）")


@pytest.mark.parametrize(
    ("raw", "unit", "shown"),
    [
        ("235", "", "235"),
        ("80.456", "µg/m³", "80.46 µg/m³"),
        ("4.1e+06", "吨标准煤", "4100000吨标准煤"),
        ("6", "类", "劣Ⅴ类"),
        ("3", "类", "Ⅲ类"),
        ("1", "级", "一级A"),
        ("3", "级", "劣于一级B"),
        ("4", "级", "4级"),
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
        LINKS,
        NOW,
        4096,
    )
    assert head == "【严重】金华 全市 处理进程宕机"
    assert "站点" not in text
    assert "> 开始：2026-11-28 10:00（已持续 5分）" in text


def test_unknown_codes_are_shown_as_they_are() -> None:
    stranger = alert() | {"labels": alert()["labels"] | {"county": "x9", "site": "air-x9-01"}}
    unnamed = payload(stranger) | {"commonLabels": {}}
    head, text = fmt.markdown(unnamed, fmt.Names(), LINKS, NOW, 4096)
    assert head == "【严重】金华 x9 空气重度污染"
    assert "> 站点：air-x9-01" in text


def test_long_incidents_are_cut_to_the_wecom_limit() -> None:
    many = [alert(summary_zh="很长的说明" * 40) for _ in range(30)]
    content = fmt.wecom_message(payload(*many), NAMES, LINKS, NOW)["markdown"]["content"]
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
    message = fmt.json_message(original, NAMES, LINKS, NOW)
    assert message["title"] == "【严重】金华 义乌市 空气重度污染"
    assert message["alertmanager"] == original


def test_a_firing_alert_carries_its_acknowledge_link_and_code() -> None:
    page = alert(ack_token="T0KEN")
    with_relay = fmt.Links(relay="https://relay.example.gov.cn/")
    text = fmt.markdown(payload(page), NAMES, with_relay, NOW, 4096)[1]
    assert "> [确认收到](https://relay.example.gov.cn/ack/T0KEN)　确认码 T0KEN" in text
    assert "> 确认码：T0KEN" in fmt.markdown(payload(page), NAMES, fmt.Links(), NOW, 4096)[1]
    resolved = payload(alert("resolved", ack_token="T0KEN"), status="resolved")
    assert "确认" not in fmt.markdown(resolved, NAMES, with_relay, NOW, 4096)[1]


def test_the_acknowledgement_notice_names_who_and_when_and_offers_no_link() -> None:
    notice = alert(acknowledged_by="张三", acknowledged_at="1795831200")  # 10:00 Beijing
    head, text = fmt.markdown(payload(notice), NAMES, LINKS, NOW, 4096, tag="已确认")
    assert head == "【已确认】金华 义乌市 空气重度污染"
    assert "> 确认人：张三（2026-11-28 10:00）" in text.splitlines()


@pytest.mark.parametrize(
    ("status", "notes", "lines", "absent"),
    [
        ("firing", {"value": "236"}, ["> 升级：无人确认，已升级至 duty-supervisor（第 1 级）",
                                      "> 当前值：236，超过限值 200"], ["恢复"]),
        # Ended by an acknowledgement: the alert fires on, nothing has recovered.
        ("resolved", {"acknowledged_by": "李四"}, ["> 升级结束：已由 李四 确认",
                                                   "> 开始：2026-11-28 08:00（已持续 2小时5分）"],
         ["恢复", "数值"]),
        # Ended by the alert's resolution.
        ("resolved", {}, ["> 升级结束：告警已恢复", "> 恢复：2026-11-28 10:00"], ["数值"]),
    ],
)  # fmt: skip
def test_an_escalation_says_to_whom_or_why_it_ended(
    status: str, notes: dict[str, str], lines: list[str], absent: list[str]
) -> None:
    escalated = alert(status, escalation_level="1", escalated_to="duty-supervisor", **notes)
    tag = "升级" if status == "firing" else "升级结束"
    head, text = fmt.markdown(payload(escalated, status=status), NAMES, LINKS, NOW, 4096, tag)
    assert head == f"【{tag}】金华 义乌市 空气重度污染"
    for line in lines:
        assert line in text.splitlines(), text
    body = text.split("\n", 1)[1].replace("[处置手册]", "")
    assert not any(word in body for word in absent), text
