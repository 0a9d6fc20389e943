"""The event writer: big transactions, nothing lost on stop, failed batches retried, a bad
event isolated and dropped alone."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.exc import OperationalError

from garrison.config.settings import EventSettings
from garrison.events import EventBus
from garrison.events import writer as writer_module
from garrison.events.filters import EventFilters
from garrison.events.writer import EventWriter
from garrison.metrics import Metrics
from garrison.store import Store, upgrade
from garrison.store.events import EventRows
from tests.events.samples import alert


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'events.db'}")
    upgrade(store.engine)
    yield store
    store.close()


def stored_sequences(store: Store) -> list[int | None]:
    with store.transaction() as tx:
        rows = EventRows(tx.session).query(EventFilters(), limit=10_000)
    return sorted(s.event.sequence for s in rows)  # type: ignore[type-var]


def make_writer(store: Store, bus: EventBus, **settings: object) -> tuple[EventWriter, Metrics]:
    metrics = Metrics()
    options: dict[str, object] = {"writer_batch": 1000, "writer_max_wait_ms": 50}
    options.update(settings)
    return EventWriter(store, bus, EventSettings(**options), metrics), metrics  # type: ignore[arg-type]


def value(metrics: Metrics, name: str) -> float:
    return metrics.registry.get_sample_value(name) or 0.0


@pytest.mark.parametrize("count", [1, 999, 1000, 2500])
async def test_n_events_are_written_in_ceil_n_over_batch_transactions(
    sqlite_store: Store, count: int
) -> None:
    bus = EventBus()
    writer, metrics = make_writer(sqlite_store, bus)
    commits: list[int] = []
    sa_event.listen(sqlite_store.engine, "commit", lambda conn: commits.append(1))
    await writer.start()
    bus.publish_many(alert(n) for n in range(count))
    await asyncio.wait_for(writer.flush(), 30)
    await writer.stop()
    assert len(commits) == math.ceil(count / 1000)
    assert value(metrics, "garrison_events_write_batches_total") == math.ceil(count / 1000)
    assert value(metrics, "garrison_events_written_total") == count
    assert stored_sequences(sqlite_store) == list(range(count))


async def test_stop_drains_everything_already_published(sqlite_store: Store) -> None:
    bus = EventBus()
    writer, _ = make_writer(sqlite_store, bus, writer_batch=700)
    await writer.start()
    bus.publish_many(alert(n) for n in range(5000))
    await asyncio.wait_for(writer.stop(), 30)  # no flush first: stop itself must drain
    bus.publish(alert(99_999))  # after stop: not the writer's any more
    assert stored_sequences(sqlite_store) == list(range(5000))


async def test_light_traffic_is_written_within_the_max_wait(sqlite_store: Store) -> None:
    bus = EventBus()
    writer, _ = make_writer(sqlite_store, bus, writer_max_wait_ms=20)
    await writer.start()
    started = time.monotonic()
    bus.publish(alert(1))
    await asyncio.wait_for(writer.flush(), 10)
    assert time.monotonic() - started < 2
    assert stored_sequences(sqlite_store) == [1]
    await writer.stop()


async def test_a_failed_batch_is_retried_until_written(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(writer_module, "FIRST_PAUSE", 0.01)
    bus = EventBus()
    writer, metrics = make_writer(sqlite_store, bus)
    real_insert = writer._insert
    failures = iter([True, True])

    def flaky(batch: list) -> None:  # type: ignore[type-arg]
        if next(failures, False):
            raise OperationalError("INSERT", {}, Exception("database is restarting"))
        real_insert(batch)

    monkeypatch.setattr(writer, "_insert", flaky)
    await writer.start()
    bus.publish_many(alert(n) for n in range(10))
    await asyncio.wait_for(writer.flush(), 10)
    await writer.stop()
    assert stored_sequences(sqlite_store) == list(range(10))
    assert value(metrics, "garrison_events_write_failures_total") == 2
    assert value(metrics, "garrison_events_write_batches_total") == 1
    assert "database is restarting" in caplog.text


async def test_an_event_the_database_refuses_is_dropped_alone(sqlite_store: Store) -> None:
    bus = EventBus()
    writer, metrics = make_writer(sqlite_store, bus)
    await writer.start()
    events = [alert(n) for n in range(64)]
    events[37].hit_count = 2**70  # no BIGINT holds it
    bus.publish_many(events)
    await asyncio.wait_for(writer.flush(), 30)
    await writer.stop()
    assert stored_sequences(sqlite_store) == [n for n in range(64) if n != 37]
    assert value(metrics, "garrison_events_rejected_total") == 1
    assert value(metrics, "garrison_events_written_total") == 63


async def test_stop_gives_up_after_the_drain_time_when_the_database_stays_away(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "FIRST_PAUSE", 0.01)
    bus = EventBus()
    writer, metrics = make_writer(sqlite_store, bus, writer_drain_seconds=0.3)

    def down(batch: list) -> None:  # type: ignore[type-arg]
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(writer, "_insert", down)
    await writer.start()
    bus.publish_many(alert(n) for n in range(5))
    started = time.monotonic()
    await asyncio.wait_for(writer.stop(), 10)
    assert time.monotonic() - started < 5
    assert value(metrics, "garrison_events_rejected_total") == 5
