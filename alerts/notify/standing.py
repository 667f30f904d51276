"""Where a firing alert's value stands against its limit, so that a message says only what is
true of it. Pure.

An alert does not leave when its value falls back to the limit: a condition with hysteresis
(AQI, PM2.5) leaves only at or below its clear threshold (``alerts.conditions.clear_at``), and
only after the value has stayed there for the clear time. A message sent meanwhile must say
"below the limit, not yet below the clear threshold", not "above the limit". For the few
seconds between the worker's resolution and Prometheus's (the rules hold an alert a little
longer, so that a restart does not end it), a condition without hysteresis stands back inside
its limit: "leaving".
"""

from __future__ import annotations

from typing import Literal

from alerts.conditions import CONDITIONS, clear_at

Standing = Literal["exceeds", "meets", "band", "clearing", "leaving", "unknown"]


def standing(
    condition: str, value: float | None, limit: float | None
) -> tuple[Standing, float | None]:
    """The standing of a firing alert's value, and the clear threshold when it has one.

    ``unknown``: a condition not judged by the worker (the rules' own), one whose value is not
    comparable with its limit (a flat line's limit is a count), or a number missing.
    """
    known = CONDITIONS.get(condition)
    if known is None or known.breach is None or value is None or limit is None:
        return "unknown", None
    if known.breach == "below":
        if value < limit:
            return "exceeds", None
        return ("meets", None) if value == limit else ("leaving", None)
    if value > limit:
        return "exceeds", None
    clear = clear_at(condition, limit)
    if clear >= limit:
        return "leaving", None
    return ("band" if value > clear else "clearing"), clear
