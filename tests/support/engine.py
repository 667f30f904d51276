"""What the tests of a feed engine in process need around it: records as consumed, topics sent
to through a real producer, and components whose calls are noted in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer


@dataclass
class Record:
    """A consumed record as the engine reads it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any = None


class ProducerTopic:
    """A topic the engine sends to, through a real aiokafka producer (Faust's topic API)."""

    def __init__(self, producer: AIOKafkaProducer, name: str, log: list[str], label: str):
        self.producer, self.name, self.log, self.label = producer, name, log, label

    async def send(self, *, key, value, headers, partition, force) -> asyncio.Future:
        sent = await self.producer.send(
            self.name, value=value, key=key, headers=headers, partition=partition
        )
        self.log.append(self.label)
        return asyncio.ensure_future(self._confirmed(sent))

    async def _confirmed(self, sent: asyncio.Future) -> None:
        await sent
        self.log.append(f"{self.label} confirmed")


class Logged:
    """Passes calls to a real component and notes when each has finished."""

    def __init__(self, inner: Any, log: list[str], **labels: str) -> None:
        self.inner, self.log, self.labels = inner, log, labels

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.inner, name)
        if name not in self.labels:
            return method
        if asyncio.iscoroutinefunction(method):

            async def logged_async(*args: Any, **kwargs: Any) -> Any:
                result = await method(*args, **kwargs)
                self.log.append(self.labels[name])
                return result

            return logged_async

        def logged(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            self.log.append(self.labels[name])
            return result

        return logged
