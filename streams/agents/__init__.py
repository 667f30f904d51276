"""One agent per feed; each feed module supplies its judgement of valid readings."""

from __future__ import annotations

from collections.abc import Callable

import faust

from envwatch.settings import Settings
from streams.agents import air, energy, water
from streams.pipeline import Judge, Pipeline
from streams.topics import feed_topic

JUDGES: dict[str, Callable[[Pipeline], Judge]] = {
    "air": air.judge,
    "water": water.judge,
    "energy": energy.judge,
}


def register_agents(app: faust.App, settings: Settings, pipeline: Pipeline) -> None:
    for feed, make_judge in JUDGES.items():
        _register(app, settings, pipeline, feed, make_judge(pipeline))


def _register(
    app: faust.App, settings: Settings, pipeline: Pipeline, feed: str, judge: Judge
) -> None:
    topic = app.topic(feed_topic(settings, feed), key_type=bytes, value_type=bytes)

    async def agent(stream: faust.StreamT) -> None:
        await pipeline.consume(feed, stream, judge, settings.batch_max, settings.batch_within_s)

    app.agent(topic, name=f"envwatch.{feed}")(agent)
