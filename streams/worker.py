"""Wires one worker process: register, decoders, state tables, engines, agents, checkpoints.

Every feed of the registry gets the same parts: its decoder, its state table and store, its
sink and its engine. A checkpoint runs every ``commit_interval_s`` for each engine, and on a
revocation before the partitions go; after each rebalance, once Faust has recovered the
tables, every engine exports the sites it owns from their states before consuming.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
import mode
import psycopg
from kafka import KafkaAdminClient
from prometheus_client import CollectorRegistry, start_http_server

from alerts.assessment.year import Register
from alerts.city import CityState
from alerts.feeds import judgement
from alerts.judge import Timing
from alerts.metrics import Metrics
from alerts.targets import load_targets
from schemas.decode import FeedDecoder, Rules
from schemas.feed import Feed
from schemas.feeds import FEEDS
from schemas.reference import Reference, load_reference
from streams.agents import register_agents
from streams.alert_events import AlertEvents
from streams.app import create_app
from streams.city import CityEngine
from streams.deadletter import DeadLetters
from streams.delivery import Delivery, LogReader
from streams.engine import Checkpointed, FeedEngine
from streams.exporter import SiteExporter
from streams.kafka_config import aiokafka_config, kafka_python_config
from streams.lag import track_lag
from streams.publish import Outbox, OutboxTopic
from streams.settings import Settings
from streams.sink import ReadingSink
from streams.states import StateStore
from streams.target_storage import TargetStorage
from streams.topics import ALERT_EVENTS, DEAD_LETTER, SUMMARIES

log = logging.getLogger(__name__)
# How long a revocation waits for a batch in progress before the partitions go without its
# checkpoint (the next owner then replays it: at least once, stored once).
REVOKE_WAIT_S = 5.0


def build_worker_app(
    settings: Settings, registry: CollectorRegistry, feeds: Mapping[str, Feed] = FEEDS
) -> faust.App:
    app = create_app(settings)
    reference = load_reference(settings.reference_dir, feeds)
    metrics = Metrics(registry, feeds)
    exporter = SiteExporter(metrics.sites, feeds)

    def sink(feed: Feed | None) -> ReadingSink:
        return ReadingSink(
            settings.database_conninfo,
            feed,
            settings.db_retry_max_s,
            on_error=lambda _exc: metrics.db_errors.inc(),
        )

    outbox = Outbox(aiokafka_config(settings))

    def topic(name: str) -> OutboxTopic:
        return outbox.topic(settings.topic(name))

    def store(name: str, state_type: type, partitions: int) -> StateStore[Any]:
        table = app.Table(
            name, default=None, key_type=bytes, value_type=bytes, partitions=partitions
        )
        changelog = outbox.topic(table.changelog_topic.get_topic_name())
        return StateStore(table, state_type, settings.state_cache_sites, changelog)

    rules = Rules(
        known_sites=frozenset(),
        max_future=timedelta(seconds=settings.max_future_s),
        earliest=datetime(settings.earliest_year, 1, 1, tzinfo=UTC),
        max_bytes=settings.max_message_bytes,
    )
    dead_letters = DeadLetters(topic(DEAD_LETTER))
    alert_events = AlertEvents(topic(ALERT_EVENTS))
    summaries = topic(SUMMARIES)
    timing = Timing(settings.alert_for_s, settings.alert_clear_s, settings.alert_service_s)
    engines: list[Checkpointed] = []
    for name, feed in feeds.items():
        judged = judgement(feed)
        sites = reference.sites(name)
        engines.append(
            FeedEngine(
                feed=feed,
                topic=settings.topic(name),
                judgement=judged,
                decoder=FeedDecoder(feed, dataclasses.replace(rules, known_sites=sites)),
                sites=sites,
                store=store(f"{name}-state", judged.State, settings.topic_partitions),
                sink=sink(feed),
                dead_letters=dead_letters,
                alert_events=alert_events,
                summaries=summaries,
                metrics=metrics,
                exporter=exporter,
                timing=timing,
            )
        )
    targets = load_targets(settings.targets_file) if settings.targets_file else load_targets()
    city = CityEngine(
        topic=settings.topic(SUMMARIES),
        store=store("city-state", CityState, 1),
        targets=targets,
        budget_warning=settings.bad_day_budget_warning,
        sink=sink(None),  # the city's alert transitions only
        alert_events=alert_events,
        metrics=metrics,
        storage=TargetStorage(settings.database_conninfo, feeds),
        register=target_register(reference),
        county_of={
            site.id: site.county for sites in reference.by_feed.values() for site in sites.values()
        },
    )
    for county in reference.counties.values():
        metrics.county_cap.labels(county.code).set(county.energy_cap_tce)

    reader = LogReader(settings)
    delivery = Delivery(reader, metrics)
    # The broker answered the start-up check (check_services): the first contact.
    metrics.broker_contact.set_to_current_time()
    batching = [(e, settings.batch_within_s) for e in engines] + [(city, settings.targets_within_s)]
    register_agents(app, settings, batching, delivery)
    track_lag(app, metrics, delivery)
    everything: list[Any] = [*engines, city]

    for engine in everything:
        _on_recovered(app, engine, delivery)

    async def checkpoint(wait_s: float) -> None:
        await asyncio.gather(*(e.checkpoint(delivery, app.consumer, wait_s) for e in everything))

    @app.timer(settings.commit_interval_s)
    async def _checkpoint() -> None:
        await checkpoint(settings.commit_interval_s)

    @app.timer(settings.targets_refresh_s)
    async def _targets() -> None:
        await city.refresh()

    @app.on_partitions_revoked.connect
    async def _revoked(_app: faust.App, revoked: set, **_kwargs: object) -> None:
        await checkpoint(REVOKE_WAIT_S)  # still a member: fewer records read twice
        delivery.forget(revoked)
        for engine in everything:
            gone = {tp.partition for tp in revoked if tp.topic == engine.topic}
            if gone:
                engine.revoke(gone)
        log.info("partitions revoked: %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in revoked))

    @app.service
    class _CloseClients(mode.Service):
        async def on_stop(self) -> None:
            await reader.stop()
            await outbox.stop()

    return app


def target_register(reference: Reference) -> Register:
    """What the plan targets' assessment needs of the register."""
    return Register(
        sections=reference.sites("water"),
        unit_county={u.id: u.county for u in reference.sites("energy").values()},
        gdp={c.code: c.gdp_10k_yuan for c in reference.counties.values()},
        plants=reference.sites("wastewater"),
    )


def _on_recovered(app: faust.App, engine: Any, delivery: Delivery) -> None:
    """After each rebalance, once Faust has recovered the engine's table."""

    async def recovered() -> None:
        tps = {tp for tp in app.consumer.assignment() if tp.topic == engine.topic}
        engine.recover({tp.partition for tp in tps})  # exports, and lets batches through
        await delivery.prime(tps)

    engine.store.table.on_recover(recovered)


def check_services(settings: Settings) -> None:
    """Reach the broker and the database once before Faust starts: a wrong address or
    password then fails at once with the client's own error, not deep inside the worker."""
    KafkaAdminClient(**kafka_python_config(settings), client_id=f"{settings.app_id}-check").close()
    timeout = max(int(settings.kafka_connect_timeout_s), 2)  # libpq's minimum is 2 s
    psycopg.connect(settings.database_conninfo, connect_timeout=timeout).close()


def run_worker(settings: Settings) -> int:
    registry = CollectorRegistry()
    app = build_worker_app(settings, registry)
    start_http_server(settings.metrics_port, addr="0.0.0.0", registry=registry)
    log.info("metrics on :%d/metrics", settings.metrics_port)
    worker = faust.Worker(app, loglevel="INFO", quiet=True)
    worker.execute_from_commandline()
    return 0
