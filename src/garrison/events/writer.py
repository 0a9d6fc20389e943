"""The event writer: the bus's store consumer. It takes events off its queue in batches and
commits each batch in one transaction, in a worker thread so the event loop never waits on
the database. After each batch it records in the catalog (`garrison.catalog.learner`) the
signatures, action sets and segments seen for the first time.

A batch that fails for a reason that may pass (the database is down, restarting, locked) is
retried whole, with growing pauses, and meanwhile new events wait in the queue. A batch the
database refuses for its content (a value out of range) is split in halves until the one
bad event is found; that event alone is logged and dropped. On stop, everything already
published is written before stop() returns, or, if the database stays unreachable for
``writer_drain_seconds``, logged as lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from garrison.catalog.learner import CatalogLearner
from garrison.config.settings import EventSettings
from garrison.events.bus import EventBus, Subscription
from garrison.events.model import Event
from garrison.metrics import Metrics
from garrison.store import Store
from garrison.store.catalog import Catalog
from garrison.store.event_counts import EventCounts
from garrison.store.events import EventRows

log = logging.getLogger("garrison.events.writer")

FIRST_PAUSE = 0.25  # seconds before the first retry; doubled each time up to LONGEST_PAUSE
LONGEST_PAUSE = 5.0


def may_pass(exc: BaseException) -> bool:
    """Whether a failed write is worth retrying as it is (the database, not the data)."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class EventWriter:
    name = "event-writer"

    def __init__(
        self, store: Store, bus: EventBus, settings: EventSettings, metrics: Metrics
    ) -> None:
        self._store = store
        self._bus = bus
        self._settings = settings
        self._metrics = metrics
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._drain_deadline: float | None = None  # set by stop()
        self._handled = 0  # events taken off the queue and stored or given up
        self._progress = asyncio.Condition()
        self._learner: CatalogLearner | None = None  # loaded from the store on first use

    async def start(self) -> None:
        subscription = self._bus.subscribe(self.name, capacity=self._settings.queue_capacity)
        self._subscription = subscription
        self._metrics.events_writer_queue.set_function(lambda: len(subscription))
        self._metrics.events_writer_dropped.set_function(lambda: subscription.dropped)
        self._task = asyncio.create_task(self._run(subscription), name=self.name)

    async def stop(self) -> None:
        """Stop taking new events, write those already published, then return."""
        if self._subscription is None or self._task is None:
            return
        self._drain_deadline = time.monotonic() + self._settings.writer_drain_seconds
        self._subscription.close()  # the queue keeps what it holds; _run drains it
        await self._task
        self._task = None
        log.info("event writer stopped; %d events handled", self._handled)

    async def flush(self) -> None:
        """Return once every event published so far is stored (or given up)."""
        subscription = self._subscription
        if subscription is None:
            return
        target = subscription.delivered + len(subscription)
        async with self._progress:
            await self._progress.wait_for(lambda: self._handled >= target)

    # -- the loop ---------------------------------------------------------------------

    async def _run(self, subscription: Subscription) -> None:
        batch_size = self._settings.writer_batch
        max_wait = self._settings.writer_max_wait_ms / 1000
        while True:
            batch = await subscription.gather(batch_size, max_wait)
            if not batch:
                if subscription.closed:
                    return
                continue
            try:
                await self._write(batch)
            except Exception:  # a bug, not the database: keep the writer alive
                log.exception("event writer: %d events lost", len(batch))
                self._metrics.events_rejected.inc(len(batch))
            async with self._progress:
                self._handled += len(batch)
                self._progress.notify_all()

    async def _write(self, batch: Sequence[Event]) -> None:
        pause = FIRST_PAUSE
        while True:
            started = time.perf_counter()
            try:
                await asyncio.to_thread(self._insert, batch)
            except Exception as exc:
                self._metrics.events_write_failures.inc()
                if not may_pass(exc):
                    await self._isolate(batch, exc)
                    return
                if self._out_of_time():
                    log.error(
                        "event writer: %d events lost; the database stayed unreachable "
                        "while stopping: %s",
                        len(batch),
                        exc,
                    )
                    self._metrics.events_rejected.inc(len(batch))
                    return
                log.warning(
                    "event writer: cannot write %d events (%s); retrying in %.2f s",
                    len(batch),
                    exc,
                    pause,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE)
                continue
            self._metrics.events_write_seconds.observe(time.perf_counter() - started)
            self._metrics.events_write_batches.inc()
            self._metrics.events_written.inc(len(batch))
            return

    async def _isolate(self, batch: Sequence[Event], exc: Exception) -> None:
        """The database refused the batch's content: write the halves apart until the
        refused event stands alone, then drop only that one."""
        if len(batch) == 1:
            event = batch[0]
            log.error(
                "event writer: the database refused an event, dropped "
                "(kind %s from %s via %s, %r): %s",
                event.kind,
                event.source_address,
                event.collector,
                event.name[:80],
                exc,
            )
            self._metrics.events_rejected.inc()
            return
        middle = len(batch) // 2
        await self._write(batch[:middle])
        await self._write(batch[middle:])

    def _out_of_time(self) -> bool:
        return self._drain_deadline is not None and time.monotonic() > self._drain_deadline

    def _insert(self, batch: Sequence[Event]) -> None:
        with self._store.write_turn():
            with self._store.transaction() as tx:
                EventRows(tx.session).insert_many(batch)
                EventCounts(tx.session).add(batch)  # the dashboard's rollup, same transaction
                if self._learner is None:
                    self._learner = Catalog(tx.session).learner()
            self._learn(self._learner, batch)

    def _learn(self, learner: CatalogLearner, batch: Sequence[Event]) -> None:
        """Record the signatures, action sets and segments the batch shows for the first
        time. Its own transaction after the events' (and none when nothing is new): a
        catalog that cannot be written must never cost an event. On failure the learner
        is rebuilt from the store, so what was not recorded is offered again later."""
        learned = learner.new_in(batch)
        if not learned:
            return
        try:
            with self._store.transaction() as tx:
                Catalog(tx.session).record(learned)
        except Exception as exc:
            self._learner = None
            log.warning("event writer: could not record new catalog entries: %s", exc)
