"""The one Faust app: built from Settings by a function, never at import time."""

from __future__ import annotations

from streams.kafka_config import faust_broker_credentials
from streams.settings import Settings
from streams.transport import App


def create_app(settings: Settings) -> App:
    datadir = settings.state_dir / "worker"  # Faust's own folder, beside the run's state
    datadir.mkdir(parents=True, exist_ok=True)
    brokers = ";".join(f"kafka://{host}" for host in settings.kafka_bootstrap.split(","))
    app = App(
        settings.app_id,
        broker=brokers,
        broker_credentials=faust_broker_credentials(settings),
        autodiscover=False,
        store="memory://",
        datadir=datadir,
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        consumer_auto_offset_reset="earliest",
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(settings.session_timeout_s / 4, 0.5),
        broker_commit_interval=settings.commit_interval_s,
        web_enabled=False,
        web_port=settings.worker_web_port,
    )
    app.fetch_max_wait_ms = settings.fetch_max_wait_ms
    return app
