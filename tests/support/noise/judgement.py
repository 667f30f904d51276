"""The noise feed's judgement: an hour louder than the meter's limit raises an alert. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from alerts.judge import Context, Outcome, SiteState, key, newer, start
from tests.support.noise.contract import Meter, NoiseReading

CONDITION = "noise_loud"
LOUD = key(CONDITION, "leq")
VALUE_NAMES = ("leq",)
FIGURES = {"leq": "Latest hourly equivalent sound level of a meter"}
FIGURE_LABELS: tuple[str, ...] = ()


class NoiseState(SiteState, kw_only=True, omit_defaults=True):
    pass


State = NoiseState


def figure_labels(site: Meter) -> tuple[str, ...]:
    return ()


def judge(
    state: NoiseState, meter: Meter, readings: Sequence[NoiseReading], context: Context
) -> tuple[NoiseState, Outcome]:
    out, alerts = start(state, "noise", meter.id, meter.county, context)
    for reading, stamp in newer(state, readings, attrgetter("ts"), out):
        if reading.leq is None:
            continue
        state.values["leq"] = out.figures["leq"] = reading.leq
        alerts.reading(reading.ts, stamp, "")
        alerts.above(LOUD, reading.leq, meter.limit_db, meter.limit_db, sustain=False)
    state.figures.update(out.figures)
    return state, out
