"""The life of one alert: quiet, pending, firing, and back, with hysteresis. Pure.

An alert fires once, when its condition has held for ``for_s``; it stays firing while the
condition holds or while the value sits between the breach and the clear thresholds; it
resolves only after the value has been clear for ``clear_s``. Times are reading times, so a
replayed year gives the same alerts as the live one did.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import msgspec

Status = Literal["ok", "pending", "firing"]
Transition = Literal["firing", "resolved"]


class AlertState(msgspec.Struct, array_like=True, omit_defaults=True):
    """Kept per (site, condition, parameter) in the worker's state; small on purpose."""

    status: Status = "ok"
    since: float = 0.0  # when the condition began (pending or firing)
    clear_since: float = 0.0  # when the value first came back below the clear threshold
    value: float = 0.0
    limit: float = 0.0


class Observation(NamedTuple):
    """One judgement of one condition: ``breach`` enters, ``clear`` leaves, neither holds.

    A named tuple: a dozen are made per reading, and tuples are the cheapest to make."""

    breach: bool
    clear: bool
    value: float
    limit: float


def step(
    state: AlertState, obs: Observation, at: float, for_s: float, clear_s: float
) -> tuple[AlertState, Transition | None]:
    """The next state after an observation at reading time ``at``, and the transition made."""
    if state.status == "firing":
        if not obs.clear:
            return AlertState("firing", state.since, 0.0, obs.value, obs.limit), None
        clear_since = state.clear_since or at
        if at - clear_since >= clear_s:
            return AlertState("ok", value=obs.value, limit=obs.limit), "resolved"
        return AlertState("firing", state.since, clear_since, obs.value, obs.limit), None
    if not obs.breach:
        return AlertState("ok", value=obs.value, limit=obs.limit), None
    since = state.since if state.status == "pending" else at
    if at - since >= for_s:
        return AlertState("firing", since, 0.0, obs.value, obs.limit), "firing"
    return AlertState("pending", since, 0.0, obs.value, obs.limit), None
