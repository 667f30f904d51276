"""What every feed's judgement shares: a site's state, the outcome of a batch, alert steps.

A feed's judgement (``alerts/feeds/<feed>.py``) is a pure function of a site's state and
that site's readings, in order: ``judge(state, site, readings, context) -> (state, outcome)``.
It takes the state it is given and returns it brought up to date; the outcome holds the
figures, the alert transitions made and the summaries for the city-wide targets. Everything
exported about a site is derived from its state (:func:`firing`), so a worker that takes a
site over exports it exactly as the last one did, before the site sends again.

Checks are stepped only when they can change something: when their condition breaches, or
when the alert of that condition is already pending or firing. A quiet check on a quiet
alert leaves it quiet, so it is skipped without building anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol, TypeVar

import msgspec

from alerts.conditions import SEVERITY
from alerts.lifecycle import AlertState, Observation, Transition, step
from alerts.summaries import Summary


class SiteState(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What every site's state holds; each feed's state adds its own fields."""

    last_at: float = 0.0  # reading time of the newest reading judged
    received_at: float = 0.0  # wall-clock time a reading of the site last arrived
    values: dict[str, float] = {}  # latest value of each parameter, as exported
    figures: dict[str, float] = {}  # latest judged figures (AQI, class, intensity)
    alerts: dict[str, AlertState] = {}  # "condition|parameter" -> its alert, when not ok


class HasAlerts(Protocol):
    alerts: dict[str, AlertState]


class Timing(NamedTuple):
    for_s: float  # how long a sustained condition must hold before it fires
    clear_s: float  # how long it must be clear before it resolves
    service_s: float = 4 * 3600  # how long an analyser may be in maintenance or calibration


class Context(NamedTuple):
    timing: Timing
    now: float  # wall-clock time of the batch (received_at)


@dataclass(frozen=True, slots=True)
class AlertEvent:
    condition: str
    feed: str
    site: str
    county: str
    parameter: str
    severity: str
    transition: Transition
    at: datetime
    value: float
    limit: float
    edition: str


@dataclass(frozen=True, slots=True)
class Firing:
    condition: str
    parameter: str
    severity: str
    value: float
    limit: float
    since: float


@dataclass(slots=True)
class Outcome:
    """What a batch of one site's readings produced, besides its new state."""

    figures: dict[str, float] = field(default_factory=dict)
    events: list[AlertEvent] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    judged: int = 0  # readings judged (the others were late or repeated)
    edition: str = ""  # the standard's edition the newest judged reading was judged by


R = TypeVar("R")


def start(
    state: SiteState, feed: str, site: str, county: str, context: Context
) -> tuple[Outcome, Alerts]:
    """A batch's outcome, and the alerts of its site to step; the site was heard from now."""
    out = Outcome()
    state.received_at = context.now
    return out, Alerts(state, feed, site, county, context.timing, out)


def newer(
    state: SiteState, readings: Iterable[R], at: Callable[[R], datetime], out: Outcome
) -> Iterator[tuple[R, float]]:
    """The readings newer than the newest one judged, in order, each with its time (seconds);
    each one taken is the newest judged. The others are stored but not judged: a late reading
    never reopens a window or an alert, and a replay is never counted twice."""
    for reading in readings:
        stamp = at(reading).timestamp()
        if stamp <= state.last_at:
            continue
        state.last_at = stamp
        out.judged += 1
        yield reading, stamp


def key(condition: str, parameter: str) -> str:
    return f"{condition}|{parameter}"


class Alerts:
    """Steps the alerts of one site for one reading; transitions go to the outcome."""

    __slots__ = ("alerts", "at", "county", "edition", "feed", "outcome", "site", "stamp", "timing")

    def __init__(
        self, state: HasAlerts, feed: str, site: str, county: str, timing: Timing, out: Outcome
    ) -> None:
        self.alerts = state.alerts
        self.feed, self.site, self.county = feed, site, county
        self.timing = timing
        self.outcome = out
        self.at: datetime | None = None
        self.stamp = 0.0
        self.edition = ""

    def reading(self, at: datetime, stamp: float, edition: str) -> None:
        """The reading the next observations are made on, and the edition it is judged by."""
        self.at, self.stamp, self.edition = at, stamp, edition
        if edition:
            self.outcome.edition = edition

    def open(self, alert_key: str) -> bool:
        """Whether that alert is pending or firing (an observation could change it)."""
        return alert_key in self.alerts

    def observe(
        self,
        alert_key: str,
        breach: bool,
        clear: bool,
        value: float,
        limit: float,
        sustain: bool = True,
        for_s: float | None = None,
    ) -> None:
        """Step one alert; callers skip a check that neither breaches nor has an open alert.

        A sustained condition fires after the timing's ``for_s`` (or the ``for_s`` given) and
        resolves after its ``clear_s``; one that is not sustained fires and clears at once."""
        if for_s is not None:
            clear_s = 0.0
        elif sustain:
            for_s, clear_s = self.timing.for_s, self.timing.clear_s
        else:
            for_s = clear_s = 0.0
        new, transition = step(
            self.alerts.get(alert_key, _QUIET),
            Observation(breach, clear, value, limit),
            self.stamp,
            for_s,
            clear_s,
        )
        if new.status == "ok":
            self.alerts.pop(alert_key, None)
        else:
            self.alerts[alert_key] = new
        if transition is not None:
            assert self.at is not None
            condition, parameter = alert_key.split("|", 1)
            self.outcome.events.append(
                AlertEvent(
                    condition,
                    self.feed,
                    self.site,
                    self.county,
                    parameter,
                    SEVERITY[condition],
                    transition,
                    self.at,
                    new.value,
                    new.limit,
                    self.edition,
                )
            )

    def above(
        self, alert_key: str, value: float, limit: float, clear_at: float, sustain: bool = True
    ) -> None:
        """Breach strictly above ``limit``; clear at or below ``clear_at``."""
        breach = value > limit
        if breach or alert_key in self.alerts:
            self.observe(alert_key, breach, value <= clear_at, value, limit, sustain)


_QUIET = AlertState()


def firing(state: HasAlerts) -> list[Firing]:
    """The alerts of a site that are firing now."""
    out = []
    for alert_key, alert in state.alerts.items():
        if alert.status == "firing":
            condition, parameter = alert_key.split("|", 1)
            out.append(
                Firing(
                    condition, parameter, SEVERITY[condition], alert.value, alert.limit, alert.since
                )
            )
    return out
