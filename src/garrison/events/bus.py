"""The in-process event bus: collectors publish, consumers (the store writer, the
Responder, the live stream, forwarders) each read their own bounded queue.

Publishing never blocks and never waits for a consumer: a collector's hot path stays
short. A consumer that falls behind loses the oldest events beyond its capacity and the
loss is counted (``dropped``); the store writer is given a capacity that a burst never
fills. The interface is small so that it can move to NATS JetStream when one node is not
enough.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable

from garrison.events.model import Event

EventFilter = Callable[[Event], bool]


class Subscription:
    """One consumer's queue."""

    def __init__(
        self, bus: EventBus, name: str, capacity: int, accepts: EventFilter | None
    ) -> None:
        self.name = name
        self.capacity = capacity
        self.accepts = accepts
        self.dropped = 0
        self.delivered = 0
        self._bus = bus
        self._queue: deque[Event] = deque()
        self._ready = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._queue)

    def _offer(self, event: Event) -> None:
        if self.accepts is not None and not self.accepts(event):
            return
        if len(self._queue) >= self.capacity:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(event)
        self._ready.set()

    async def next_batch(self, max_items: int = 1000, timeout: float | None = None) -> list[Event]:
        """Up to ``max_items`` events, waiting at most ``timeout`` seconds for the first.

        An empty list means the wait timed out or the subscription was closed.
        """
        if not self._queue and not self._closed:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return []
        count = min(max_items, len(self._queue))
        batch = [self._queue.popleft() for _ in range(count)]
        self.delivered += count
        return batch

    async def gather(self, max_items: int, max_wait: float) -> list[Event]:
        """Collect up to ``max_items`` events for at most ``max_wait`` seconds after the
        first arrives: a writer's way of filling big transactions without adding latency
        when traffic is light."""
        batch = await self.next_batch(max_items)
        deadline = time.monotonic() + max_wait
        while batch and len(batch) < max_items and not self._closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            more = await self.next_batch(max_items - len(batch), timeout=remaining)
            if not more:
                break
            batch.extend(more)
        return batch

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self._ready.set()
        self._bus._remove(self)


class EventBus:
    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self.published = 0

    def subscribe(
        self, name: str, *, capacity: int = 100_000, accepts: EventFilter | None = None
    ) -> Subscription:
        """A new queue that receives every event published from now on (or those
        ``accepts`` lets through)."""
        subscription = Subscription(self, name, capacity, accepts)
        self._subscriptions.append(subscription)
        return subscription

    def publish(self, event: Event) -> None:
        self.published += 1
        for subscription in self._subscriptions:
            subscription._offer(event)

    def publish_many(self, events: Iterable[Event]) -> None:
        for event in events:
            self.publish(event)

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return tuple(self._subscriptions)

    def _remove(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
