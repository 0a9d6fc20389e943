"""The retention policy: events older than ``retention_days`` go, then the oldest beyond
``retention_rows``. Deletes run in bounded chunks, one transaction each, so the writer and
readers never wait long on them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from garrison.config.settings import EventSettings
from garrison.metrics import Metrics
from garrison.store import Store
from garrison.store.event_counts import EventCounts
from garrison.store.events import EventRows
from garrison.store.models import utcnow

log = logging.getLogger("garrison.events.retention")


@dataclass(frozen=True, slots=True)
class Pruned:
    by_age: int
    by_rows: int


def _in_chunks(
    store: Store,
    delete_chunk: Callable[[EventRows], int],
    chunk: int,
    cancelled: Callable[[], bool],
) -> int:
    total = 0
    while not cancelled():
        with store.transaction() as tx:
            deleted = delete_chunk(EventRows(tx.session))
        total += deleted
        if deleted < chunk:
            break
    return total


def prune(
    store: Store,
    *,
    days: int,
    rows: int,
    chunk: int = 10_000,
    now: datetime | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Pruned:
    """Apply the policy once; ``days`` or ``rows`` of 0 turns that half off."""
    by_age = by_rows = 0
    cutoff = None
    if days > 0:
        cutoff = (now or utcnow()) - timedelta(days=days)
        by_age = _in_chunks(store, lambda t: t.delete_older_than(cutoff, chunk), chunk, cancelled)
    if rows > 0:
        with store.transaction() as tx:
            last = EventRows(tx.session).cutoff_id(rows)
        if last is not None:
            by_rows = _in_chunks(store, lambda t: t.delete_through(last, chunk), chunk, cancelled)
    if days > 0 or rows > 0:
        # The per-minute counts go with the events (a small indexed delete).
        with store.transaction() as tx:
            EventCounts(tx.session).trim(cutoff)
    return Pruned(by_age, by_rows)


class RetentionTask:
    """Runs the policy at start and then every ``retention_interval_seconds``."""

    name = "event-retention"

    def __init__(self, store: Store, settings: EventSettings, metrics: Metrics) -> None:
        self._store = store
        self._settings = settings
        self._metrics = metrics
        self._stop = asyncio.Event()
        self._cancelled = threading.Event()  # seen by the worker thread between chunks
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop.clear()
        self._cancelled.clear()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stop.set()
        self._cancelled.set()
        await self._task
        self._task = None

    def run_once(self) -> Pruned:
        settings = self._settings
        pruned = prune(
            self._store,
            days=settings.retention_days,
            rows=settings.retention_rows,
            chunk=settings.retention_chunk,
            cancelled=self._cancelled.is_set,
        )
        self._metrics.events_deleted.labels("age").inc(pruned.by_age)
        self._metrics.events_deleted.labels("rows").inc(pruned.by_rows)
        if pruned.by_age or pruned.by_rows:
            log.info(
                "retention: deleted %d events older than %d days and %d beyond %d rows",
                pruned.by_age,
                settings.retention_days,
                pruned.by_rows,
                settings.retention_rows,
            )
        return pruned

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # the database may be away; try again next time
                log.exception("retention: this run failed")
            with contextlib.suppress(TimeoutError):  # the interval passed: run again
                await asyncio.wait_for(self._stop.wait(), self._settings.retention_interval_seconds)
