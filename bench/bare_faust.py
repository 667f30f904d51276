"""The bare-Faust ceiling: the worker's own app, one agent per feed that only iterates.

Run as a process (``python -m bench.bare_faust``) with the worker's environment; it counts
events in a Prometheus counter so the benchmark reads it exactly as it reads the worker.
"""

from __future__ import annotations

import faust
from prometheus_client import CollectorRegistry, Counter, start_http_server

from schemas.feeds import FEEDS
from streams.app import create_app
from streams.settings import load_settings
from streams.topics import feed_topic


def main() -> None:
    settings = load_settings()
    app = create_app(settings)
    registry = CollectorRegistry()
    events = Counter("bench_bare_events", "Events iterated", registry=registry)
    for feed in FEEDS:
        topic = app.topic(feed_topic(settings, feed), key_type=bytes, value_type=bytes)

        async def iterate(stream: faust.StreamT) -> None:
            async for _ in stream:
                events.inc()

        iterate.__name__ = iterate.__qualname__ = f"bare_{feed}"
        app.agent(topic, name=f"bench.bare.{feed}")(iterate)
    start_http_server(settings.metrics_port, addr="127.0.0.1", registry=registry)
    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
