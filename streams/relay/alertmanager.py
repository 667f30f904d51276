"""The part of Alertmanager's API v2 the relay uses: the alerts firing now, and silences.

Alertmanager lists an alert only while it fires (a resolved one leaves the list at once, silenced
or not), so "is this instance still firing" is "is its fingerprint listed with the same start".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import ClientError, ClientSession


class AlertmanagerError(RuntimeError):
    """Alertmanager could not be asked or refused; the message says which."""


@dataclass(frozen=True)
class Firing:
    """One alert instance as Alertmanager holds it now."""

    fingerprint: str
    starts_at: int  # Unix seconds, as the tokens carry it
    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    silenced_by: tuple[str, ...] = ()


def seconds(text: str) -> int:
    """Alertmanager's RFC 3339 time (``2026-11-28T00:01:00.123Z``) in whole Unix seconds."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _rfc3339(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


class AlertmanagerAPI:
    def __init__(self, session: ClientSession, url: str) -> None:
        self.session, self.api = session, f"{url.rstrip('/')}/api/v2"

    async def _call(self, method: str, path: str, body: object = None) -> object:
        try:
            async with self.session.request(method, f"{self.api}{path}", json=body) as response:
                text = await response.text()
                if response.status >= 300:
                    raise AlertmanagerError(f"{method} {path}: HTTP {response.status} {text[:200]}")
                return await response.json(content_type=None) if text else None
        except (ClientError, TimeoutError) as e:
            raise AlertmanagerError(f"{method} {path}: {type(e).__name__}: {e}") from None

    async def firing(self) -> dict[str, Firing]:
        """Every alert firing now (silenced and inhibited ones too), by fingerprint."""
        listed = await self._call("GET", "/alerts")
        if not isinstance(listed, list):
            raise AlertmanagerError("GET /alerts: not a list of alerts")
        return {
            a["fingerprint"]: Firing(
                a["fingerprint"],
                seconds(a["startsAt"]),
                a.get("labels", {}),
                a.get("annotations", {}),
                tuple(a.get("status", {}).get("silencedBy", [])),
            )
            for a in listed
        }

    async def silence(
        self, labels: Mapping[str, str], until: float, by: str, comment: str, now: float
    ) -> str:
        """A silence of exactly this label set (one alert instance); its id."""
        matchers = [
            {"name": k, "value": v, "isRegex": False, "isEqual": True}
            for k, v in sorted(labels.items())
        ]
        body = {
            "matchers": matchers,
            "startsAt": _rfc3339(now),
            "endsAt": _rfc3339(until),
            "createdBy": by,
            "comment": comment,
        }
        made = await self._call("POST", "/silences", body)
        if not isinstance(made, dict) or "silenceID" not in made:
            raise AlertmanagerError("POST /silences: no silence id in the answer")
        return str(made["silenceID"])

    async def expire(self, silence_id: str) -> None:
        """End a silence now; one already ended is left as it is."""
        try:
            await self._call("DELETE", f"/silence/{silence_id}")
        except AlertmanagerError as e:
            if "already expired" not in str(e) and "not found" not in str(e):
                raise
