"""Wires one worker process: reference data, decoders, sinks, topics, metrics, agents."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import faust
import mode
from prometheus_client import CollectorRegistry, start_http_server

from alerts.metrics import Metrics
from alerts.targets import load_targets
from envwatch.settings import Settings
from schemas.decode import FeedDecoder, Rules
from schemas.feed import Feed
from schemas.feeds import FEEDS
from schemas.reference import load_reference
from streams.agents import register_agents
from streams.agents.targets import TargetTracker, register_targets
from streams.alert_events import AlertEvents
from streams.app import create_app
from streams.deadletter import DeadLetters
from streams.delivery import Delivery, LogReader
from streams.exporter import SiteExporter
from streams.lag import track_lag
from streams.pipeline import Pipeline
from streams.sink import ReadingSink
from streams.topics import ALERT_EVENTS, DEAD_LETTER, SUMMARIES, feed_topic

log = logging.getLogger(__name__)


def build_worker_app(settings: Settings, registry: CollectorRegistry) -> faust.App:
    app = create_app(settings)
    reference = load_reference(settings.reference_dir)
    metrics = Metrics(registry)
    rules = {
        feed: Rules(
            known_sites=reference.sites(feed),
            max_future=timedelta(seconds=settings.max_future_s),
            earliest=datetime(settings.earliest_year, 1, 1, tzinfo=UTC),
            max_bytes=settings.max_message_bytes,
        )
        for feed in FEEDS
    }

    def sink(feed: Feed | None) -> ReadingSink:
        return ReadingSink(
            settings.database_url.get_secret_value(),
            feed,
            settings.db_retry_max_s,
            on_error=lambda _exc: metrics.db_errors.inc(),
        )

    def topic(name: str) -> faust.TopicT:
        return app.topic(settings.topic(name), key_type=bytes, value_type=bytes)

    reader = LogReader(settings)
    delivery = Delivery(reader, metrics)
    pipeline = Pipeline(
        decoders={feed: FeedDecoder(FEEDS[feed], rules[feed]) for feed in FEEDS},
        sinks={feed: sink(FEEDS[feed]) for feed in FEEDS},
        dead_letters=DeadLetters(topic(DEAD_LETTER)),
        alert_events=AlertEvents(topic(ALERT_EVENTS)),
        summaries=topic(SUMMARIES),
        metrics=metrics,
        delivery=delivery,
    )
    exporter = SiteExporter(metrics)
    for county in reference.counties.values():
        metrics.county_cap.labels(county.code).set(county.energy_cap_tce)
    register_agents(app, settings, pipeline, reference, exporter)
    targets = load_targets(settings.targets_file) if settings.targets_file else load_targets()
    register_targets(
        app,
        settings,
        lambda table: TargetTracker(table, targets, metrics, settings.bad_day_budget_warning),
        sink(None),  # the city targets store alert transitions only
        pipeline.alert_events,
        delivery,
    )
    track_lag(app, metrics, delivery)
    feeds_by_topic = {feed_topic(settings, feed): feed for feed in FEEDS}

    @app.timer(settings.commit_interval_s)
    async def _commit() -> None:
        await delivery.commit(app.consumer)

    @app.on_partitions_revoked.connect
    async def _drop_revoked(_app: faust.App, revoked: set, **_kwargs: object) -> None:
        await delivery.commit(app.consumer)  # still a member: fewer records read twice
        delivery.forget(revoked)
        pairs = [
            (feeds_by_topic[tp.topic], tp.partition) for tp in revoked if tp.topic in feeds_by_topic
        ]
        dropped = exporter.drop_partitions(pairs)
        if dropped:
            log.info("partitions revoked: stopped exporting %d sites", dropped)

    @app.service
    class _CloseReader(mode.Service):
        async def on_stop(self) -> None:
            await reader.stop()

    return app


def run_worker(settings: Settings) -> int:
    registry = CollectorRegistry()
    app = build_worker_app(settings, registry)
    start_http_server(settings.metrics_port, addr="0.0.0.0", registry=registry)
    log.info("metrics on :%d/metrics", settings.metrics_port)
    worker = faust.Worker(app, loglevel="INFO", quiet=True)
    worker.execute_from_commandline()
    return 0
