"""One agent per feed, each with its own state table; the feed modules say how they judge."""

from __future__ import annotations

import faust

from alerts.judge import Timing
from envwatch.settings import Settings
from schemas.reference import Reference
from streams.agents import air, energy, water
from streams.exporter import SiteExporter
from streams.judging import FeedJudge, FeedSpec
from streams.pipeline import Pipeline
from streams.topics import feed_topic

SPECS: tuple[FeedSpec, ...] = (air.SPEC, water.SPEC, energy.SPEC)
# How often firing alerts kept in the state tables are re-exported for sites that have sent
# nothing since this worker took them over; shorter than Prometheus's keep_firing_for.
RESTORE_EVERY_S = 5.0


def register_agents(
    app: faust.App,
    settings: Settings,
    pipeline: Pipeline,
    reference: Reference,
    exporter: SiteExporter,
) -> None:
    timing = Timing(settings.alert_for_s, settings.alert_clear_s)
    judges: dict[str, FeedJudge] = {}
    for spec in SPECS:
        # The changelog is partitioned by site key like the feed topic (use_partitioner), so a
        # batch holding several partitions writes each site's state to its own partition.
        table = app.Table(
            f"{spec.feed}-state",
            default=None,
            key_type=bytes,
            value_type=bytes,
            partitions=settings.topic_partitions,
            use_partitioner=True,
        )
        judge = FeedJudge(spec, reference.sites(spec.feed), table, timing, exporter)
        judges[feed_topic(settings, spec.feed)] = judge
        _register(app, settings, pipeline, spec.feed, judge)

    @app.timer(RESTORE_EVERY_S)
    async def restore_firing_alerts() -> None:
        owned: dict[str, set[int]] = {}
        for tp in app.consumer.assignment():
            owned.setdefault(tp.topic, set()).add(tp.partition)
        for topic, judge in judges.items():
            judge.restore(owned.get(topic, set()), settings.topic_partitions)


def _register(
    app: faust.App, settings: Settings, pipeline: Pipeline, feed: str, judge: FeedJudge
) -> None:
    # No Faust acknowledgements: streams/delivery.py keeps and commits the offsets.
    topic = app.topic(feed_topic(settings, feed), key_type=bytes, value_type=bytes, acks=False)

    async def agent(stream: faust.StreamT) -> None:
        await pipeline.consume(feed, stream, judge, settings.batch_max, settings.batch_within_s)

    agent.__name__ = agent.__qualname__ = f"{feed}_agent"
    app.agent(topic, name=f"envwatch.{feed}")(agent)
