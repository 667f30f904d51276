"""One agent per feed of the registry, and the city-wide agent; each consumes batches in
offset order (``streams/delivery.py``) and hands them to its engine."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import faust

from streams.delivery import Delivery
from streams.engine import Checkpointed
from streams.settings import Settings


def register_agents(
    app: faust.App,
    settings: Settings,
    engines: Iterable[tuple[Checkpointed, float]],
    delivery: Delivery,
) -> None:
    """``engines``: each with the batching wait of its agent."""
    for engine, within_s in engines:
        # No Faust acknowledgements: streams/delivery.py keeps and commits the offsets.
        topic = app.topic(engine.topic, key_type=bytes, value_type=bytes, acks=False)
        body = _agent(engine, delivery, settings.batch_max, within_s)
        app.agent(topic, name=f"envwatch.{engine.name}")(body)


def _agent(
    engine: Checkpointed, delivery: Delivery, batch_max: int, within_s: float
) -> Callable[[faust.StreamT], Awaitable[None]]:
    async def agent(stream: faust.StreamT) -> None:
        async for records in delivery.batches(stream, batch_max, within_s):
            await engine.handle(records)

    agent.__name__ = agent.__qualname__ = f"{engine.name}_agent"
    return agent
