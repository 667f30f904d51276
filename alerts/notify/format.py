"""Alertmanager webhook payload -> robot messages in Chinese (pure: no I/O, the clock passed in).

One Alertmanager notification is one incident (grouped by alertname, county, site), so one
robot message: a title such as ``【严重】金华 义乌市 空气重度污染`` and, per alert, the site,
county, parameter, value against limit in words true of the alert's state (``standing``), since
when, and links to the dashboard and the runbook. The numbers come from the rules' annotations
(``value``, ``current``, ``limit``, ``unit``, ``since_timestamp``), the links from configured
bases (``Links``): an annotation names a dashboard path or a runbook anchor, never an address.

A resolved alert carries the annotations of the rule's last evaluation. Rules whose quantity
has a series of its own that outlives the alert (the AQI, a section's class) annotate it as
``current``, so the resolved message gives the value at resolution; for the others the value is
the last one seen while the alert fired, and the message says so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote_plus, urldefrag

from alerts.notify.standing import standing
from alerts.standards import discharge
from alerts.standards.editions import all_editions

CITY_ZH = "金华"
BEIJING = timezone(timedelta(hours=8), "CST")
SEVERITY_ZH = {"critical": "严重", "warning": "警告", "info": "提示", "none": "心跳"}
CLASS_ZH = {1: "Ⅰ类", 2: "Ⅱ类", 3: "Ⅲ类", 4: "Ⅳ类", 5: "Ⅴ类", 6: "劣Ⅴ类"}
# A wastewater plant's grade numbers (1 一级A, ...), by the newest edition of GB 18918 shipped.
GRADE_ZH = dict(
    enumerate(
        discharge.grade_labels([e for e in all_editions() if e.family == discharge.FAMILY][-1]),
        start=1,
    )
)
PARAMETER_ZH = {
    "aqi": "AQI", "pm25_1h": "PM2.5（1小时）", "pm25_24h": "PM2.5（24小时均值）",
    "pm10_1h": "PM10（1小时）", "pm10_24h": "PM10（24小时均值）", "so2_1h": "SO₂（1小时）",
    "no2_1h": "NO₂（1小时）", "o3_1h": "O₃（1小时）", "o3_8h": "O₃（8小时）",
    "co_1h": "CO（1小时）", "ph": "pH", "do": "溶解氧", "codmn": "高锰酸盐指数",
    "cod": "化学需氧量", "bod5": "五日生化需氧量",
    "nh3n": "氨氮", "tp": "总磷", "tn": "总氮", "fecal_coliform": "粪大肠菌群", "ss": "悬浮物",
    "intensity": "能耗强度", "consumption_ytd": "年度累计能耗",
    "overall": "全部断面", "national": "国控断面", "provincial": "省控断面",
    "county_boundary": "县（市）交接断面",
}  # fmt: skip
WECOM_MAX_BYTES = 4096  # WeCom rejects markdown content above 4096 bytes (UTF-8)
DINGTALK_MAX_BYTES = 18000  # DingTalk's limit is 20,000; leave room for the JSON envelope


@dataclass(frozen=True)
class Names:
    """Chinese names of counties and sites (from the register); codes are shown if unknown."""

    city: str = CITY_ZH
    counties: Mapping[str, str] = field(default_factory=dict)
    sites: Mapping[str, str] = field(default_factory=dict)

    def county(self, code: str) -> str:
        return "全市" if code in ("", "all", "city") else self.counties.get(code, code)

    def site(self, site_id: str) -> str:
        name = self.sites.get(site_id) or self.counties.get(site_id)
        return f"{name}（{site_id}）" if name else site_id


@dataclass(frozen=True)
class Links:
    """Bases of a message's links: addresses a phone on the street can open (the bureau's
    public Grafana, the published runbook), from the settings; a link without a base is left
    out rather than shown as an address nobody can reach."""

    grafana: str = ""  # e.g. https://grafana.example.gov.cn
    runbook: str = ""  # the page of docs/oncall.md as published, e.g. https://wiki.example/oncall
    relay: str = ""  # the relay behind the bureau's HTTPS proxy, for acknowledge links

    def dashboard(self, path: str) -> str:
        return f"{self.grafana.rstrip('/')}{path}" if self.grafana and path else ""

    def acknowledge(self, token: str) -> str:
        return f"{self.relay.rstrip('/')}/ack/{token}" if self.relay and token else ""

    def runbook_at(self, anchor: str) -> str:
        return f"{urldefrag(self.runbook).url}#{anchor}" if self.runbook and anchor else ""


def number(value: float) -> str:
    """235 -> "235", 80.456 -> "80.46", 4100000 -> "4100000": plain, no exponent."""
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def duration_zh(seconds: float) -> str:
    """8100 -> "2小时15分"; the two largest units, as staff say it."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "天"), (hours, "小时"), (minutes, "分"), (secs, "秒")]
    shown = [f"{n}{unit}" for n, unit in parts if n][:2]
    return "".join(shown) or "0秒"


def quantity(raw: str, unit: str) -> str:
    """An annotation value with its unit; water classes as Roman numerals, wastewater grades
    by name, seconds as a span."""
    try:
        value = float(raw)
    except ValueError:
        return raw
    if not math.isfinite(value):
        return raw
    if unit == "类" and int(value) in CLASS_ZH:
        return CLASS_ZH[int(value)]
    if unit == "级" and int(value) in GRADE_ZH:
        return GRADE_ZH[int(value)]
    if unit == "s":
        return duration_zh(value)
    spaced = unit and unit != "%" and unit[0] < "\u2e80"  # "80 µg/m³", "72%", "3吨标准煤"
    return f"{number(value)}{' ' if spaced else ''}{unit}"


def _float(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def value_line(labels: Mapping[str, str], notes: Mapping[str, str], resolved: bool) -> str:
    """The value against its limit, in words true of where the alert stands (or "")."""
    unit, current = notes.get("unit", ""), notes.get("current", "")
    raw, raw_limit = current or notes.get("value", ""), notes.get("limit", "")
    if not raw:
        return ""
    shown, limit = quantity(raw, unit), quantity(raw_limit, unit)
    if resolved:
        head = "恢复时数值" if current else "恢复前最后数值"
        return f"{head}：{shown}" + (f"（限值 {limit}）" if raw_limit else "")
    value, bound = _float(raw), _float(raw_limit)
    where, clear = standing(labels.get("condition", ""), value, bound)
    below = value is not None and bound is not None and value < bound
    if where == "exceeds":
        return f"当前值：{shown}，{'低于' if below else '超过'}限值 {limit}"
    if where == "meets":
        return f"当前值：{shown}，达到限值 {limit}"
    threshold = quantity(str(clear), unit)
    if where == "band":
        return (f"当前值：{shown}，{'已低于' if below else '已不高于'}限值 {limit}，"
                f"尚未低于解除阈值 {threshold}")  # fmt: skip
    if where == "clearing":
        return f"当前值：{shown}，已不高于解除阈值 {threshold}（限值 {limit}），持续达标后恢复"
    if where == "leaving":
        back = "已高于" if value is not None and bound is not None and value > bound else "已不高于"
        return f"当前值：{shown}，{back}限值 {limit}，即将恢复"
    return f"当前值：{shown}" + (f"，限值：{limit}" if raw_limit else "")


def escalation_line(notes: Mapping[str, str], resolved: bool) -> str:
    """An escalated alert's: to whom it climbed, or why the escalation ended."""
    if not resolved:
        level, to = notes["escalation_level"], notes.get("escalated_to", "")
        return f"升级：无人确认，已升级至 {to}（第 {level} 级）"
    if notes.get("acknowledged_by"):
        return f"升级结束：已由 {notes['acknowledged_by']} 确认"
    return "升级结束：告警已恢复"


def _time(text: str) -> datetime | None:
    if not text or text.startswith("0001-"):  # Alertmanager's zero time: not ended
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _since(alert: Mapping[str, Any]) -> datetime | None:
    raw = alert.get("annotations", {}).get("since_timestamp", "")
    try:
        return datetime.fromtimestamp(float(raw), UTC)
    except (TypeError, ValueError, OverflowError):
        return _time(alert.get("startsAt", ""))


def _clock(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def title(payload: Mapping[str, Any], names: Names, tag: str | None = None) -> str:
    """``【严重】金华 义乌市 空气重度污染``, ``【已恢复】...`` when the incident is over, or the
    relay's own ``tag`` (``已确认``, ``升级``)."""
    alerts = payload.get("alerts") or [{}]
    labels = {**alerts[0].get("labels", {}), **payload.get("commonLabels", {})}
    annotations = {**alerts[0].get("annotations", {}), **payload.get("commonAnnotations", {})}
    if tag is None and payload.get("status") == "resolved":
        tag = "已恢复"
    elif tag is None:
        tag = SEVERITY_ZH.get(labels.get("severity", ""), labels.get("severity", "告警"))
    what = annotations.get("title_zh") or labels.get("alertname", "告警")
    return f"【{tag}】{names.city} {names.county(labels.get('county', ''))} {what}"


def alert_lines(alert: Mapping[str, Any], names: Names, links: Links, now: datetime) -> list[str]:
    """The facts of one alert, one per line, each one a person on call acts on."""
    labels, notes = alert.get("labels", {}), alert.get("annotations", {})
    resolved = alert.get("status") == "resolved"
    escalation = notes.get("escalation_level", "")
    # An escalation ends when its alert is acknowledged (and fires on) or when it resolves.
    over = resolved and not (escalation and notes.get("acknowledged_by"))
    lines = []
    site, county = labels.get("site", ""), labels.get("county", "")
    if site and site not in ("city", county):
        lines.append(f"站点：{names.site(site)}")
    lines.append(f"区县：{names.county(county)}")
    if labels.get("parameter"):
        parameter = labels["parameter"]
        lines.append(f"参数：{PARAMETER_ZH.get(parameter, parameter)}")
    if escalation:
        lines.append(escalation_line(notes, resolved))
    if not (escalation and resolved) and (text := value_line(labels, notes, resolved)):
        lines.append(text)
    since = _since(alert)
    ended = _time(alert.get("endsAt", "")) if over else None
    if since:
        span = duration_zh(((ended or now) - since).total_seconds())
        lines.append(f"开始：{_clock(since)}（{'共' if over else '已'}持续 {span}）")
    if ended:
        lines.append(f"恢复：{_clock(ended)}")
    if notes.get("acknowledged_by"):
        at = _float(notes.get("acknowledged_at", ""))
        when = f"（{_clock(datetime.fromtimestamp(at, UTC))}）" if at is not None else ""
        lines.append(f"确认人：{notes['acknowledged_by']}{when}")
    if notes.get("summary_zh") and not resolved:  # a summary tells of the firing state
        lines.append(f"说明：{notes['summary_zh']}")
    token = notes.get("ack_token", "")
    if token and not resolved:
        link = links.acknowledge(token)
        lines.append(f"[确认收到]({link})　确认码 {token}" if link else f"确认码：{token}")
    if dashboard := links.dashboard(notes.get("dashboard_path", "")):
        lines.append(f"[查看看板]({dashboard})")
    if runbook := links.runbook_at(notes.get("runbook", "")):
        lines.append(f"[处置手册]({runbook})")
    return lines


def markdown(
    payload: Mapping[str, Any],
    names: Names,
    links: Links,
    now: datetime,
    max_bytes: int,
    tag: str | None = None,
) -> tuple[str, str]:
    """(title, markdown text) of one notification, cut to ``max_bytes`` of UTF-8."""
    head = title(payload, names, tag)
    alerts = list(payload.get("alerts") or [])
    firing = [a for a in alerts if a.get("status") != "resolved"]
    resolved = [a for a in alerts if a.get("status") == "resolved"]
    blocks = [f"### {head}"]
    for section, members in (("", firing), ("**已恢复：**", resolved)):
        if section and members and firing:
            blocks.append(section)
        blocks += ["\n".join(f"> {line}" for line in alert_lines(a, names, links, now))
                   for a in members]  # fmt: skip
    text = "\n\n".join(blocks)
    while len(text.encode()) > max_bytes and len(blocks) > 2:
        blocks.pop()
        text = "\n\n".join([*blocks, f"……另有告警未列出，共 {len(alerts)} 条"])
    return head, text.encode()[:max_bytes].decode(errors="ignore")


def wecom_message(
    payload: Mapping[str, Any], names: Names, links: Links, now: datetime, tag: str | None = None
) -> dict:
    """A WeCom group robot message (msgtype markdown)."""
    _, text = markdown(payload, names, links, now, WECOM_MAX_BYTES, tag)
    return {"msgtype": "markdown", "markdown": {"content": text}}


def dingtalk_message(
    payload: Mapping[str, Any], names: Names, links: Links, now: datetime, tag: str | None = None
) -> dict:
    """A DingTalk custom robot message (msgtype markdown; the title shows in the chat list)."""
    head, text = markdown(payload, names, links, now, DINGTALK_MAX_BYTES, tag)
    return {"msgtype": "markdown", "markdown": {"title": head, "text": text}}


def json_message(
    payload: Mapping[str, Any], names: Names, links: Links, now: datetime, tag: str | None = None
) -> dict:
    """The fallback: the Chinese title and text for people, the original payload for programs."""
    head, text = markdown(payload, names, links, now, DINGTALK_MAX_BYTES, tag)
    return {"title": head, "text": text, "alertmanager": dict(payload)}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's "加签": base64 HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def dingtalk_url(url: str, secret: str, timestamp_ms: int) -> str:
    """The robot URL with ``timestamp`` and ``sign`` added; unchanged when there is no secret."""
    if not secret:
        return url
    sign = quote_plus(dingtalk_sign(secret, timestamp_ms))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign}"
