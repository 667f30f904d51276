"""Wires one worker process: reference data, decoders, sink, dead letters, metrics, agents."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import faust
from prometheus_client import CollectorRegistry, start_http_server

from alerts.metrics import Metrics
from envwatch.settings import Settings
from schemas.decode import FeedDecoder, Rules
from schemas.models import FEEDS
from schemas.reference import load_reference
from streams.agents import register_agents
from streams.app import create_app
from streams.deadletter import DeadLetters
from streams.lag import track_lag
from streams.pipeline import Pipeline
from streams.sink import ReadingSink
from streams.topics import DEAD_LETTER

log = logging.getLogger(__name__)


def build_worker_app(settings: Settings, registry: CollectorRegistry) -> faust.App:
    app = create_app(settings)
    reference = load_reference(settings.reference_dir)
    metrics = Metrics(registry)
    decoders = {
        feed: FeedDecoder(
            feed,
            Rules(
                known_sites=reference.sites(feed),
                max_future=timedelta(seconds=settings.max_future_s),
                earliest=datetime(settings.earliest_year, 1, 1, tzinfo=UTC),
                max_bytes=settings.max_message_bytes,
            ),
        )
        for feed in FEEDS
    }
    sink = ReadingSink(
        settings.database_url.get_secret_value(),
        settings.db_retry_max_s,
        on_error=lambda _exc: metrics.db_errors.inc(),
    )
    dead_letters = DeadLetters(
        app.topic(settings.topic(DEAD_LETTER), key_type=bytes, value_type=bytes)
    )
    pipeline = Pipeline(
        decoders,
        sink,
        dead_letters,
        metrics,
        lambda feed, site: reference.county_of(feed, site).code,
    )
    register_agents(app, settings, pipeline)
    track_lag(app, metrics)

    return app


def run_worker(settings: Settings) -> int:
    registry = CollectorRegistry()
    app = build_worker_app(settings, registry)
    start_http_server(settings.metrics_port, addr="0.0.0.0", registry=registry)
    log.info("metrics on :%d/metrics", settings.metrics_port)
    worker = faust.Worker(app, loglevel="INFO", quiet=True)
    worker.execute_from_commandline()
    return 0
