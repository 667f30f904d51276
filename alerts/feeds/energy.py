"""The energy feed's judgement: a unit's metered periods in tonnes of standard coal. Pure.

Each period's consumption is converted by GB/T 2589 (the edition in force at the period's
end), added to the unit's consumption so far this year, and, when the period carries the
unit's output, divided into its energy intensity and judged against the unit's quota.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from zoneinfo import ZoneInfo

from alerts.judge import Context, Outcome, SiteState, key, newer, start
from alerts.standards import energy
from alerts.standards.editions import NoEditionError, in_force
from alerts.validity import invalid, service
from schemas.feeds import FEEDS
from schemas.feeds.energy import EnergyReading, EnergyUnit

CHINA = ZoneInfo("Asia/Shanghai")
CARRIERS = tuple(q.attr for q in FEEDS["energy"].quantities if q.attr != "output_10k_yuan")
AMOUNTS = attrgetter(*CARRIERS)
INTENSITY = key("energy_unit_intensity", "intensity")


class EnergyState(SiteState, kw_only=True, omit_defaults=True):
    year: int = 0  # the year of ytd_tce
    ytd_tce: float = 0.0  # tonnes of coal equivalent so far in that year


State = EnergyState
VALUE_NAMES = (*CARRIERS, "output_10k_yuan")  # the latest values it exports
FIGURES = {
    "intensity": "tce per 10,000 yuan of output, latest period",
    "ytd_tce": "Energy use so far this year, tonnes of coal equivalent",
}
FIGURE_LABELS: tuple[str, ...] = ()


def figure_labels(site: EnergyUnit) -> tuple[str, ...]:
    return ()


_END = attrgetter("period_end")


def judge(
    state: EnergyState, unit: EnergyUnit, readings: Sequence[EnergyReading], context: Context
) -> tuple[EnergyState, Outcome]:
    out, alerts = start(state, "energy", unit.id, unit.county, context)
    for reading, stamp in newer(state, readings, _END, out):
        bad = invalid(reading.flags)  # values flagged invalid count as missing
        amounts = {
            c: v
            for c, v in zip(CARRIERS, AMOUNTS(reading), strict=True)
            if v is not None and c not in bad
        }
        output = None if "output_10k_yuan" in bad else reading.output_10k_yuan
        state.values.update(amounts)
        if output is not None:
            state.values["output_10k_yuan"] = output
        converted = None
        if amounts:
            try:
                edition = in_force("energy", reading.period_end)
            except NoEditionError:
                edition = None
            if edition is not None:
                converted = energy.convert(amounts, edition=edition)
        alerts.reading(reading.period_end, stamp, converted.edition if converted else "")
        valid = [*amounts, *([] if output is None else ["output_10k_yuan"])]
        service(alerts, reading.flags, valid, stamp)
        if converted is None:
            continue
        year = reading.period_start.astimezone(CHINA).year
        so_far = state.ytd_tce if state.year == year else 0.0
        state.year, state.ytd_tce = year, so_far + converted.tce
        out.figures |= {"tce": converted.tce, "ytd_tce": state.ytd_tce}
        if output:
            intensity = energy.intensity(converted.tce, output)
            out.figures["intensity"] = intensity
            quota = unit.intensity_quota_tce_per_10k_yuan
            alerts.above(INTENSITY, intensity, quota, quota, sustain=False)
    state.figures.update(out.figures)
    return state, out
