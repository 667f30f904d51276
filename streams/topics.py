"""The topics, named in one place, and their creation with explicit settings.

Settings are given at creation (retention, cleanup policy) because a broker may not report
defaults back; the dead-letter topic keeps rejected messages four times as long as the feeds
so that agencies have time to look.
"""

from __future__ import annotations

import logging

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from schemas.feeds import FEEDS
from streams.kafka_config import kafka_python_config
from streams.settings import Settings

log = logging.getLogger(__name__)

DEAD_LETTER = "deadletter"
ALERT_EVENTS = "alerts"
# Daily station means and section classes for the city-wide targets: one partition, because
# the good-day ratio and the section shares are judged over all sites together.
SUMMARIES = "summaries"


def feed_topic(settings: Settings, feed: str) -> str:
    return settings.topic(feed)


def all_topics(settings: Settings) -> dict[str, dict[str, str]]:
    """Topic name -> its configuration."""
    keep = str(settings.topic_retention_ms)
    feeds = {
        feed_topic(settings, f): {"retention.ms": keep, "cleanup.policy": "delete"} for f in FEEDS
    }
    return feeds | {
        settings.topic(DEAD_LETTER): {
            "retention.ms": str(4 * settings.topic_retention_ms),
            "cleanup.policy": "delete",
        },
        settings.topic(ALERT_EVENTS): {"retention.ms": keep, "cleanup.policy": "delete"},
        settings.topic(SUMMARIES): {"retention.ms": keep, "cleanup.policy": "delete"},
    }


def partitions_of(settings: Settings, name: str) -> int:
    return 1 if name == settings.topic(SUMMARIES) else settings.topic_partitions


def ensure_topics(settings: Settings) -> list[str]:
    """Create what is missing; returns the names created now."""
    admin = KafkaAdminClient(**kafka_python_config(settings), client_id="envwatch-admin")
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(
                name, partitions_of(settings, name), settings.topic_replication, topic_configs=cfg
            )
            for name, cfg in all_topics(settings).items()
            if name not in existing
        ]
        created = []
        for topic in wanted:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        if created:
            log.info("created topics %s", ", ".join(created))
        return created
    finally:
        admin.close()
