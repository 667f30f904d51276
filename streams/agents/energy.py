"""The energy feed's judgement of its valid readings."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.models import Reading
from streams.agents.latest import record_latest
from streams.pipeline import Judge, Pipeline


def judge(pipeline: Pipeline) -> Judge:
    def judge_energy(readings: Sequence[Reading]) -> None:
        record_latest(pipeline, "energy", readings)

    return judge_energy
