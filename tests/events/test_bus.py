"""The event bus: every subscriber gets every event, bounded queues count what they lose,
and batches fill without waiting when events are there."""

from __future__ import annotations

import asyncio

from garrison.events import Event, EventBus, EventKind


def event(n: int, kind: EventKind = EventKind.ALERT) -> Event:
    return Event(kind=kind, collector="test", source_address="127.0.0.1", sequence=n)


async def test_every_subscriber_gets_every_event_in_order() -> None:
    bus = EventBus()
    first, second = bus.subscribe("a"), bus.subscribe("b")
    bus.publish_many(event(n) for n in range(5))
    for subscription in (first, second):
        batch = await subscription.next_batch(100)
        assert [e.sequence for e in batch] == [0, 1, 2, 3, 4]
    assert bus.published == 5


async def test_a_filter_lets_through_only_what_it_accepts() -> None:
    bus = EventBus()
    system_only = bus.subscribe("s", accepts=lambda e: e.kind is EventKind.SYSTEM)
    bus.publish(event(1))
    bus.publish(event(2, EventKind.SYSTEM))
    assert [e.sequence for e in await system_only.next_batch()] == [2]


async def test_a_full_queue_drops_the_oldest_and_counts_them() -> None:
    bus = EventBus()
    small = bus.subscribe("small", capacity=3)
    bus.publish_many(event(n) for n in range(10))
    assert small.dropped == 7
    assert [e.sequence for e in await small.next_batch()] == [7, 8, 9]


async def test_next_batch_times_out_empty_and_wakes_on_publish() -> None:
    bus = EventBus()
    subscription = bus.subscribe("w")
    assert await subscription.next_batch(timeout=0.05) == []
    waiter = asyncio.create_task(subscription.next_batch(timeout=5))
    await asyncio.sleep(0)
    bus.publish(event(42))
    assert [e.sequence for e in await asyncio.wait_for(waiter, 5)] == [42]


async def test_gather_fills_a_batch_across_several_publishes() -> None:
    bus = EventBus()
    subscription = bus.subscribe("g")

    async def publish_slowly() -> None:
        for n in range(6):
            bus.publish(event(n))
            await asyncio.sleep(0.01)

    publisher = asyncio.create_task(publish_slowly())
    batch = await subscription.gather(max_items=6, max_wait=2.0)
    await publisher
    assert [e.sequence for e in batch] == list(range(6))


async def test_a_closed_subscription_gets_nothing_more() -> None:
    bus = EventBus()
    subscription = bus.subscribe("c")
    subscription.close()
    bus.publish(event(1))
    assert await subscription.next_batch(timeout=0.05) == []
    assert bus.subscriptions == ()
