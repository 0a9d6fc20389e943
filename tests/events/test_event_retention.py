"""The retention task: it applies the policy at start and every interval, and stops
promptly. (The policy's deletes themselves are tested on every backend in
tests/store/test_event_store.py.)"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from garrison.config.settings import EventSettings
from garrison.events.filters import EventFilters
from garrison.events.retention import RetentionTask
from garrison.metrics import Metrics
from garrison.store import Store, upgrade
from garrison.store.events import EventRows
from garrison.store.models import utcnow
from tests.events.samples import alert


def count(store: Store) -> int:
    with store.transaction() as tx:
        return EventRows(tx.session).count(EventFilters())


async def test_the_task_prunes_at_start_and_every_interval(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'events.db'}")
    upgrade(store.engine)
    now = utcnow()
    old = [alert(n, received_at=now - timedelta(days=3)) for n in range(5)]
    with store.transaction() as tx:
        EventRows(tx.session).insert_many(
            [*old, *(alert(n, received_at=now) for n in range(10, 20))]
        )
    settings = EventSettings(
        retention_days=2, retention_rows=8, retention_interval_seconds=1, retention_chunk=100
    )
    metrics = Metrics()
    task = RetentionTask(store, settings, metrics)
    await task.start()
    try:
        for _ in range(100):
            if count(store) == 8:
                break
            await asyncio.sleep(0.05)
        assert count(store) == 8
        assert (
            metrics.registry.get_sample_value("garrison_events_deleted_total", {"reason": "age"})
            == 5
        )
        assert (
            metrics.registry.get_sample_value("garrison_events_deleted_total", {"reason": "rows"})
            == 2
        )
        with store.transaction() as tx:
            EventRows(tx.session).insert_many([alert(n, received_at=utcnow()) for n in range(3)])
        for _ in range(100):  # the next run, one interval later
            if count(store) == 8:
                break
            await asyncio.sleep(0.05)
        assert count(store) == 8
    finally:
        await asyncio.wait_for(task.stop(), 5)
        store.close()
