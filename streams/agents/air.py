"""The air feed's judgement of its valid readings."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.models import Reading
from streams.agents.latest import record_latest
from streams.pipeline import Judge, Pipeline


def judge(pipeline: Pipeline) -> Judge:
    def judge_air(readings: Sequence[Reading]) -> None:
        record_latest(pipeline, "air", readings)

    return judge_air
