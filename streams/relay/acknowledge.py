"""Acknowledging an alert instance, and what follows from it until the alert resolves.

- Every firing alert the relay delivers carries a token for its instance (``tokens``).
- ``acknowledge(token, by)``: the token is checked (signature, expiry); Alertmanager is asked
  whether the instance still fires (a resolved alert's token is refused); a silence of exactly
  its labels stops the reminders; the row goes to ``alert_history``; the acknowledgement
  series (``metrics``) stops the escalation rules; the groups that got the page hear
  "已确认，确认人 X".
- Alertmanager never tells of a silenced alert's resolution (its issue #226: the resolved
  notification is muted like the reminders, and dropped). So the relay asks it every
  ``poll_s`` which acknowledged instances still fire. For one that has gone, it ends the
  silence and tells the groups itself, with the annotations Alertmanager last held (the rules
  keep evaluating an alert until it resolves, so they hold the value at resolution); should
  Alertmanager's own resolved message come after all (the silence ended before its next
  flush), it is dropped as already told.
- Escalation notifications (``AlertEscalated``, from ``alerts/rules/escalation.yml``) are
  shown as the alert they escalate, with its token, and recorded with the receiver's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from alerts.notify import tokens
from alerts.notify.escalation import ESCALATED
from alerts.notify.history import HistoryError, HistoryRow, Store, figure
from streams.relay.alertmanager import AlertmanagerAPI, AlertmanagerError, Firing, seconds
from streams.relay.escalated import Escalations
from streams.relay.metrics import RelayMetrics, alert_key

log = logging.getLogger(__name__)
ACKNOWLEDGEABLE = ("critical", "warning", "info")  # what alert_history's severity admits
ANNOUNCED_KEEP_S = 86400.0  # how long a told resolution is remembered, to drop a late repeat
REFUSALS = {
    "malformed": (403, "确认链接无效"),
    "forged": (403, "确认链接无效"),
    "expired": (410, "确认链接已过期：请用最新一条告警消息中的链接或确认码"),
    "resolved": (410, "该告警已恢复，无需确认"),
}
# (channel, payload, title tag) -> where it was delivered, or None
Send = Callable[[str, dict[str, Any], str | None], Awaitable[str | None]]


@dataclass(frozen=True)
class AckSettings:
    key: bytes  # signs the tokens (tokens.signing_key)
    ttl_s: float  # a token works this long after its message
    silence_max_s: float  # the silence's end, should the relay never see the resolution
    poll_s: float  # how often Alertmanager is asked which acknowledged alerts still fire
    channels: tuple[str, ...]  # where an acknowledgement is told when the page's are unknown


@dataclass
class Ack:
    instance: Firing  # refreshed at every poll: its annotations tell the resolved message
    by: str
    at: float
    silence_id: str
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    status: int  # as HTTP has it: 200 done (or done before), 403, 410, 503
    text: str  # one line for the person
    instance: Firing | None = None


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Acknowledger:
    settings: AckSettings
    am: AlertmanagerAPI
    store: Store
    metrics: RelayMetrics
    send: Send
    clock: Callable[[], float] = time.time
    open: dict[str, Ack] = field(default_factory=dict)  # by fingerprint
    delivered: dict[str, set[str]] = field(default_factory=dict)  # fingerprint -> channels
    announced: dict[tuple[str, int], float] = field(default_factory=dict)
    restored: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    escalations: Escalations = field(init=False)

    def __post_init__(self) -> None:
        self.escalations = Escalations(self.store, self.metrics, self.clock)

    def acknowledged(self, fingerprint: str) -> tuple[str, float] | None:
        ack = self.open.get(fingerprint)
        return (ack.by, ack.at) if ack is not None else None

    def token(self, instance: Firing) -> str:
        expires = int(self.clock() + self.settings.ttl_s)
        grant = tokens.Grant(instance.fingerprint, instance.starts_at, expires)
        return tokens.mint(self.settings.key, grant)

    async def instance_of(self, token: str) -> Outcome:
        """The instance a token may acknowledge now (status 200), or why not."""
        try:
            grant = tokens.verify(self.settings.key, token, self.clock())
        except tokens.TokenError as e:
            return self._refused(e.reason)
        try:
            firing = await self.am.firing()
        except AlertmanagerError as e:
            log.error("acknowledgement: cannot ask Alertmanager: %s", e)
            return Outcome(503, "暂时无法连接 Alertmanager，请稍后再试")
        instance = firing.get(grant.fingerprint)
        if instance is None or instance.starts_at != grant.starts_at:
            return self._refused("resolved")
        return Outcome(200, "", instance)

    async def _restored(self) -> None:
        """A fresh relay first learns what was acknowledged before it started."""
        if not self.restored:
            with contextlib.suppress(AlertmanagerError, HistoryError):
                await self.restore()

    def _refused(self, reason: str) -> Outcome:
        self.metrics.refused.labels(reason).inc()
        status, text = REFUSALS[reason]
        log.warning("acknowledgement refused: %s", reason)
        return Outcome(status, text)

    async def acknowledge(self, token: str, by: str, via: str) -> Outcome:
        by = " ".join(by.split())[:64]
        if not by:
            return Outcome(400, "请填写确认人")
        await self._restored()
        async with self.lock:
            found = await self.instance_of(token)
            if found.instance is None:
                return found
            instance, now = found.instance, self.clock()
            done = self.open.get(instance.fingerprint)
            if done is not None:
                when = datetime.fromtimestamp(done.at, UTC).isoformat(timespec="seconds")
                return Outcome(200, f"已由 {done.by} 确认（{when}）", instance)
            channels = tuple(
                sorted(self.delivered.get(instance.fingerprint) or self.settings.channels)
            )
            try:
                silence_id = await self.am.silence(
                    instance.labels,
                    until=now + self.settings.silence_max_s,
                    by=by,
                    comment=f"已确认（envwatch notify，{via}）：告警恢复时解除",
                    now=now,
                )
            except AlertmanagerError as e:
                log.error("acknowledgement: cannot create the silence: %s", e)
                return Outcome(503, "暂时无法连接 Alertmanager，请稍后再试")
            row = HistoryRow(
                at=datetime.fromtimestamp(now, UTC),
                transition="acknowledged",
                labels=instance.labels,
                actor=by,
                fingerprint=instance.fingerprint,
                starts_at=datetime.fromtimestamp(instance.starts_at, UTC),
                value=figure(instance.annotations, "current", "value"),
                limit=figure(instance.annotations, "limit"),
                details={"silence_id": silence_id, "via": via, "channels": list(channels)},
            )
            try:
                await self.store.record(row)
            except HistoryError as e:
                log.error("acknowledgement not recorded, silence withdrawn: %s", e)
                await self._expire(silence_id)
                return Outcome(503, "确认未能记录，请稍后再试")
            ack = Ack(instance, by, now, silence_id, channels)
            self._open(ack)
            self.metrics.acknowledgements.labels(via).inc()
        log.info("acknowledged by %s (%s): %s", by, via, dict(instance.labels))
        await self._tell(ack, self._payload(ack, "firing"), "已确认")
        return Outcome(200, f"已确认，确认人 {by}", instance)

    def _open(self, ack: Ack) -> None:
        self.open[ack.instance.fingerprint] = ack
        labels = alert_key(ack.instance.labels)
        self.metrics.acknowledged.labels(*labels, ack.by).set(ack.at)

    def _close(self, ack: Ack) -> None:
        del self.open[ack.instance.fingerprint]
        with contextlib.suppress(KeyError):
            self.metrics.acknowledged.remove(*alert_key(ack.instance.labels), ack.by)

    def _payload(self, ack: Ack, status: str) -> dict[str, Any]:
        """An Alertmanager-shaped payload of the acknowledged instance, for the formatter."""
        notes = dict(ack.instance.annotations) | {
            "acknowledged_by": ack.by,
            "acknowledged_at": str(ack.at),
        }
        alert = {
            "status": status,
            "labels": dict(ack.instance.labels),
            "annotations": notes,
            "startsAt": _iso(ack.instance.starts_at),
            "endsAt": _iso(self.clock()) if status == "resolved" else "0001-01-01T00:00:00Z",
            "fingerprint": ack.instance.fingerprint,
        }
        return {
            "status": status,
            "commonLabels": alert["labels"],
            "commonAnnotations": {},
            "alerts": [alert],
        }

    async def _tell(self, ack: Ack, payload: dict[str, Any], tag: str | None) -> None:
        for channel in ack.channels:
            if await self.send(channel, payload, tag) is None:
                log.error("could not tell channel %s of %s", channel, tag or payload["status"])

    async def _expire(self, silence_id: str) -> None:
        try:
            await self.am.expire(silence_id)
        except AlertmanagerError as e:
            log.error("could not end silence %s (it ends by itself later): %s", silence_id, e)

    async def prepare(
        self, payload: Mapping[str, Any], channel: str
    ) -> tuple[dict[str, Any], str | None] | None:
        """The payload to deliver and its title tag, or None when there is nothing new: every
        alert in it a resolution the relay has told already."""
        await self._restored()
        alerts, tag = [], None
        firing: dict[str, Firing] | None = None
        for alert in payload.get("alerts") or []:
            labels = alert.get("labels", {})
            if labels.get("alertname") == ESCALATED:
                if firing is None:
                    firing = await self._firing_or_empty()
                receiver = payload.get("receiver", channel)
                alert = self.escalations.show(alert, firing, receiver, self.acknowledged)
                tag = "升级" if payload.get("status") != "resolved" else "升级结束"
                if alert.get("status") != "resolved" and self.acknowledged(alert["fingerprint"]):
                    continue  # raised while the relay was away (its series with it): stale
            elif alert.get("status") == "resolved" and self._told(alert):
                continue
            if alert.get("status") != "resolved" and alert.get("fingerprint"):
                alert = self._with_token(alert)
            alerts.append(alert)
        if not alerts:
            return None
        head = alerts[0]
        common = payload.get("commonLabels", {}) if tag is None else head.get("labels", {})
        notes = payload.get("commonAnnotations", {}) if tag is None else {}
        return {
            **payload,
            "alerts": alerts,
            "commonLabels": common,
            "commonAnnotations": notes,
        }, tag

    def _told(self, alert: Mapping[str, Any]) -> bool:
        starts = seconds(alert["startsAt"]) if alert.get("startsAt") else 0
        return (alert.get("fingerprint", ""), starts) in self.announced

    def _with_token(self, alert: Mapping[str, Any]) -> dict[str, Any]:
        """The alert with the token of its instance, if its severity can be acknowledged."""
        labels = alert.get("labels", {})
        if labels.get("severity") not in ACKNOWLEDGEABLE or alert.get("annotations", {}).get(
            "acknowledged_by"
        ):
            return dict(alert)
        instance = Firing(alert["fingerprint"], seconds(alert["startsAt"]), labels)
        notes = alert.get("annotations", {}) | {"ack_token": self.token(instance)}
        return {**alert, "annotations": notes}

    async def _firing_or_empty(self) -> dict[str, Firing]:
        try:
            return await self.am.firing()
        except AlertmanagerError as e:
            log.error("escalation shown without its alert's details: %s", e)
            return {}

    async def delivered_to(self, payload: Mapping[str, Any], channel: str) -> None:
        """After a delivery: the channels each instance was paged on, and the escalations."""
        for alert in payload.get("alerts") or []:
            fingerprint, notes = alert.get("fingerprint", ""), alert.get("annotations", {})
            if notes.get("escalation_level"):
                await self.escalations.delivered(alert)
            elif alert.get("status") != "resolved" and fingerprint:
                self.delivered.setdefault(fingerprint, set()).add(channel)

    async def poll(self) -> None:
        """Once: end what resolved (silence, metric), tell it, forget what is gone."""
        if not self.restored:
            await self.restore()
        firing = await self.am.firing()
        now = self.clock()
        for fingerprint, ack in list(self.open.items()):
            current = firing.get(fingerprint)
            if current is not None and current.starts_at == ack.instance.starts_at:
                ack.instance = current
                continue
            await self._expire(ack.silence_id)
            self.announced[(fingerprint, ack.instance.starts_at)] = now
            self._close(ack)
            log.info("acknowledged alert resolved: %s", dict(ack.instance.labels))
            await self._tell(ack, self._payload(ack, "resolved"), None)
        for fingerprint in set(self.delivered) - set(firing):
            del self.delivered[fingerprint]
        self.escalations.forget(firing)
        for told, at in list(self.announced.items()):
            if now - at > ANNOUNCED_KEEP_S:
                del self.announced[told]

    async def restore(self) -> None:
        """After a restart: the acknowledgements of instances still firing, from the history."""
        since = datetime.fromtimestamp(self.clock() - self.settings.silence_max_s, UTC)
        rows = await self.store.acknowledged_since(since)
        firing = await self.am.firing()
        for row in rows:
            instance = firing.get(row.fingerprint)
            if instance is None or instance.starts_at != int(row.starts_at.timestamp()):
                continue
            channels = tuple(row.details.get("channels") or self.settings.channels)
            silence_id = str(row.details.get("silence_id", ""))
            self._open(Ack(instance, row.actor, row.at.timestamp(), silence_id, channels))
        self.restored = True
        log.info("acknowledgements restored: %d still firing", len(self.open))

    async def run(self) -> None:
        """Poll until cancelled; a failed poll is logged and tried again."""
        while True:
            try:
                await self.poll()
            except (AlertmanagerError, HistoryError) as e:
                log.warning("acknowledgements: %s (trying again)", e)
            await asyncio.sleep(self.settings.poll_s)
