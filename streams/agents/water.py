"""The water feed's judgement of its valid readings."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.models import Reading
from streams.agents.latest import record_latest
from streams.pipeline import Judge, Pipeline


def judge(pipeline: Pipeline) -> Judge:
    def judge_water(readings: Sequence[Reading]) -> None:
        record_latest(pipeline, "water", readings)

    return judge_water
