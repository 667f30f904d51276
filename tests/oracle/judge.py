"""A site's reading judged against the standards with the site's state: pure.

The judgement the feeds' modules (``alerts/feeds``) replaced, kept as the oracle of their
differential test, with the rules changed on purpose since changed here too: a repeated
timestamp is not judged again; values flagged invalid (HJ 212) count as missing, and an
analyser in maintenance or calibration beyond the service time raises ``dq_service``; moving
means are taken over the hours present in their window whatever the current hour carries,
and the SO2 24-hour moving mean reports SO2 above 800 (HJ 633 Table 1, note 2).

``judge_*`` take the site's state and one reading and return the new state with a verdict:
the figures to export (AQI, class, intensity), the alert transitions made, and the alerts
firing now. The worker keeps the state in a Faust table, one entry per site, so a restarted
worker carries on where it stopped. A reading older than the newest one judged is stored
but not judged: a late reading does not reopen a closed window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import msgspec

from alerts.judge import AlertEvent, Firing, Timing
from alerts.lifecycle import AlertState, Observation, step
from alerts.standards import ReadingError, air_limits, aqi, energy, water_class
from schemas.feeds import FEEDS
from schemas.feeds.air import AirReading, Station
from schemas.feeds.energy import EnergyReading, EnergyUnit
from schemas.feeds.water import Section, WaterReading
from schemas.hj212.flags import SERVICE, VALID
from tests.oracle import air_day
from tests.oracle.conditions import (
    SEVERITY,
    Check,
    air_checks,
    energy_checks,
    quality_checks,
    range_checks,
    water_checks,
)

HOUR = 3600
RECENT = 8  # values kept per parameter for the sensor-fault checks
AIR_POLLUTANTS = ("pm25", "pm10", "so2", "no2", "o3", "co")
WATER_RECENT = ("ph", "do", "nh3n", "codmn", "tp")


class SiteState(msgspec.Struct, omit_defaults=True):
    """Everything remembered about one site between readings."""

    last_at: float = 0.0
    hours: dict[str, list[tuple[int, float]]] = {}  # hourly values for moving averages
    recent: dict[str, list[float]] = {}
    alerts: dict[str, AlertState] = {}
    ytd: tuple[int, float] = (0, 0.0)  # energy: (year, tce so far)
    day: str = ""  # air: the local day being collected, and its hourly values
    today: dict[str, list[float | None]] = {}
    last_class: int = 0  # water: class of the latest sample


@dataclass
class Verdict:
    figures: dict[str, float] = field(default_factory=dict)
    events: list[AlertEvent] = field(default_factory=list)
    firing: list[Firing] = field(default_factory=list)
    edition: str = ""
    judged: bool = True
    summary: dict[str, object] | None = None  # for the city-wide target progress


class HasAlerts(Protocol):
    alerts: dict[str, AlertState]


def apply_checks(
    state: HasAlerts,
    checks: list[Check],
    at: datetime,
    feed: str,
    site: str,
    county: str,
    timing: Timing,
    verdict: Verdict,
) -> None:
    """Step each check's alert; transitions and the alerts firing now go to ``verdict``."""
    stamp = at.timestamp()
    alerts = dict(state.alerts)
    for check in checks:
        key = f"{check.condition}|{check.parameter}"
        for_s, clear_s = (timing.for_s, timing.clear_s) if check.sustain else (0.0, 0.0)
        if check.for_s is not None:
            for_s, clear_s = check.for_s, 0.0
        new, transition = step(
            alerts.get(key, AlertState()), check.observation, stamp, for_s, clear_s
        )
        alerts[key] = new
        if transition is not None:
            verdict.events.append(
                AlertEvent(
                    check.condition,
                    feed,
                    site,
                    county,
                    check.parameter,
                    check.severity,
                    transition,
                    at,
                    new.value,
                    new.limit,
                    verdict.edition,
                )
            )
    state.alerts = {k: v for k, v in alerts.items() if v.status != "ok"}
    verdict.firing.extend(firing_alerts(state))


def firing_alerts(state: HasAlerts) -> list[Firing]:
    """The alerts of a site that are firing now."""
    firing = []
    for key, alert in state.alerts.items():
        if alert.status == "firing":
            condition, parameter = key.split("|", 1)
            firing.append(
                Firing(
                    condition, parameter, SEVERITY[condition], alert.value, alert.limit, alert.since
                )
            )
    return firing


def _remember(state: SiteState, parameter: str, value: float) -> None:
    values = state.recent.get(parameter, [])
    state.recent = state.recent | {parameter: [*values[-(RECENT - 1) :], value]}


def _hourly(
    state: SiteState, parameter: str, hour: int, value: float | None, keep: int
) -> list[float]:
    """Record an hourly value, if any; returns the values of the last ``keep`` hours."""
    if value is None:
        kept = [(h, v) for h, v in state.hours.get(parameter, []) if hour - keep < h <= hour]
    else:
        kept = [(h, v) for h, v in state.hours.get(parameter, []) if hour - keep < h < hour]
        kept.append((hour, value))
    if kept or parameter in state.hours:
        state.hours = state.hours | {parameter: kept}
    return [v for _, v in kept]


def _mean_of(average: air_limits.Average) -> float | None:
    return float(average) if isinstance(average, air_limits.Mean) else None


def _invalid(flags: dict[str, str] | None) -> set[str]:
    return {p for p, flag in (flags or {}).items() if flag not in VALID}


def _service_checks(
    state: SiteState, flags: dict[str, str] | None, valid: list[str], at: datetime, timing: Timing
) -> list[Check]:
    """Analysers in maintenance or calibration (M, C) for longer than the service time."""
    checks = []
    limit = timing.service_s
    for parameter, flag in (flags or {}).items():
        if flag in SERVICE:
            began = state.alerts.get(f"dq_service|{parameter}")
            hours = (at.timestamp() - (began.since if began else at.timestamp())) / 3600
            obs = Observation(breach=True, clear=False, value=hours, limit=limit / 3600)
            checks.append(Check("dq_service", parameter, obs, True, limit))
    for parameter in valid:
        if f"dq_service|{parameter}" in state.alerts:
            obs = Observation(breach=False, clear=True, value=0.0, limit=limit / 3600)
            checks.append(Check("dq_service", parameter, obs, True, limit))
    return checks


def _late(state: SiteState, at: datetime, verdict: Verdict) -> bool:
    if at.timestamp() <= state.last_at:  # a repeat is not judged again (the one rule changed)
        verdict.judged = False
        return True
    state.last_at = at.timestamp()
    return False


def judge_air(state: SiteState, reading: AirReading, station: Station, timing: Timing) -> Verdict:
    verdict = Verdict()
    if _late(state, reading.ts, verdict):
        return verdict
    period = reading.period
    bad = _invalid(reading.flags)
    measured = {
        p: getattr(reading, p)
        for p in AIR_POLLUTANTS
        if getattr(reading, p) is not None and p not in bad
    }
    conc = {f"{p}_{period}": v for p, v in measured.items()}
    pm25_24h: float | None = conc.get("pm25_24h")
    if period == "1h":
        hour = int(reading.ts.timestamp() // HOUR)
        # Moving means over the hours present in the window, whatever this hour carries.
        pm25_24h = _mean_of(
            air_limits.daily_mean(
                _hourly(state, "pm25", hour, measured.get("pm25"), 24), at=reading.ts
            )
        )
        o3_8h = _mean_of(
            air_limits.o3_8h_mean(_hourly(state, "o3", hour, measured.get("o3"), 8), at=reading.ts)
        )
        so2_24h = _mean_of(
            air_limits.daily_mean(
                _hourly(state, "so2", hour, measured.get("so2"), 24), at=reading.ts
            )
        )
        if o3_8h is not None:
            conc["o3_8h"] = o3_8h
        if so2_24h is not None:
            conc["so2_24h"] = so2_24h  # note 2 of HJ 633 Table 1
        for p, value in measured.items():
            _remember(state, p, value)
        state.day, state.today, closed = air_day.record_hour(
            state.day, state.today, reading.ts, measured
        )
        if closed is not None and closed[1]:
            verdict.summary = {
                "kind": "air_day",
                "site": station.id,
                "day": closed[0].isoformat(),
                "means": closed[1],
            }
    index = None
    try:
        result = aqi.hourly_aqi(conc, at=reading.ts) if period == "1h" else None
    except ReadingError:
        result = None
    if result is not None:
        index = result.aqi
        verdict.edition = result.edition
        verdict.figures |= {"aqi": index, "aqi_category": result.category.number}
    grade = 1 if station.zone_class == 1 else 2
    limit = float(air_limits.limit("pm25", "24h", grade=grade, at=reading.ts))
    if pm25_24h is not None:
        verdict.figures["pm25_24h"] = pm25_24h
    checks = air_checks(index, pm25_24h, limit) + quality_checks(state.recent)
    if result is not None:
        checks += range_checks(
            {
                key: (float(sub.concentration), _top_breakpoint(key, result.edition))
                for key, sub in result.iaqi.items()
            }
        )
    checks += _service_checks(state, reading.flags, list(measured), reading.ts, timing)
    apply_checks(state, checks, reading.ts, "air", station.id, station.county, timing, verdict)
    return verdict


def judge_water(
    state: SiteState, reading: WaterReading, section: Section, timing: Timing
) -> Verdict:
    verdict = Verdict()
    if _late(state, reading.ts, verdict):
        return verdict
    bad = _invalid(reading.flags)
    values = {
        name: getattr(reading, attr)
        for attr, name in _WATER_FIELDS
        if getattr(reading, attr) is not None and name not in bad
    }
    for p in WATER_RECENT:
        if p in values:
            _remember(state, p, values[p])
    checks = quality_checks(state.recent)
    try:
        sample = water_class.sample_class(values, section.waterbody, at=reading.ts)
    except ReadingError:
        sample = None
    if sample is not None:
        verdict.edition = sample.edition
        verdict.figures["class"] = sample.water_class
        if sample.water_class != state.last_class:
            state.last_class = sample.water_class
            verdict.summary = {
                "kind": "section_class",
                "site": section.id,
                "level": section.control_level,
                "class": sample.water_class,
            }
        checks += _onto_open_alerts(
            state,
            water_checks(
                sample.water_class,
                section.target_class,
                sample.controlling[0],
                section.drinking_source,
            ),
        )
    checks += _service_checks(state, reading.flags, list(values), reading.ts, timing)
    apply_checks(state, checks, reading.ts, "water", section.id, section.county, timing, verdict)
    return verdict


def _onto_open_alerts(state: SiteState, checks: list[Check]) -> list[Check]:
    """A section's class is one alert per condition, named by the parameter that controlled
    the class when it began. Later samples are judged onto that alert whichever parameter
    controls them, so it resolves when the class recovers (a clean sample controlled by
    another parameter would otherwise leave it firing) and is not paged twice."""
    began = dict(key.split("|", 1) for key in state.alerts)
    return [
        check._replace(parameter=began.get(check.condition, check.parameter)) for check in checks
    ]


def judge_energy(
    state: SiteState, reading: EnergyReading, unit: EnergyUnit, timing: Timing
) -> Verdict:
    verdict = Verdict()
    if _late(state, reading.period_end, verdict):
        return verdict
    bad = _invalid(reading.flags)
    consumption = {
        attr: getattr(reading, attr)
        for attr in _ENERGY_CARRIERS
        if getattr(reading, attr) is not None and attr not in bad
    }
    output = None if "output_10k_yuan" in bad else reading.output_10k_yuan
    converted = energy.convert(consumption) if consumption else None
    intensity = None
    if converted is not None:
        verdict.edition = converted.edition
        year = reading.period_start.astimezone(_CHINA).year
        so_far = state.ytd[1] if state.ytd[0] == year else 0.0
        state.ytd = (year, so_far + converted.tce)
        verdict.figures |= {"tce": converted.tce, "ytd_tce": state.ytd[1]}
        if output:
            intensity = energy.intensity(converted.tce, output)
            verdict.figures["intensity"] = intensity
    checks = energy_checks(intensity, unit.intensity_quota_tce_per_10k_yuan)
    valid = [*consumption, *([] if output is None else ["output_10k_yuan"])]
    checks += _service_checks(state, reading.flags, valid, reading.period_end, timing)
    apply_checks(state, checks, reading.period_end, "energy", unit.id, unit.county, timing, verdict)
    return verdict


_CHINA = ZoneInfo("Asia/Shanghai")
_WATER_FIELDS = tuple((q.attr, q.wire) for q in FEEDS["water"].quantities if q.attr != "temp")
_ENERGY_CARRIERS = tuple(q.attr for q in FEEDS["energy"].quantities if q.attr != "output_10k_yuan")


@lru_cache(maxsize=256)
def _top_breakpoint(key: str, edition: str) -> float:
    return float(aqi.top_breakpoint(key, edition))
