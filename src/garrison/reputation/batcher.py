"""The aggregating writer behind the Responder's reputation-entry action.

An attack can open thousands of responses a minute; one transaction for each address
would make the Responder as slow as the database. The SMS aggregates these adds and
writes them every 60 minutes; the batcher does the same, by default every 60 seconds, and
at once when ``max_batch`` entries wait (the add that fills the batch writes it). Each
flush is one transaction (one audit line) whatever it holds. Adding the same address
again before a flush only updates the queued entry. ``stop()`` writes what is queued
before it returns; a flush the database refuses keeps its entries queued for the next.

Each owner (the Responder writes as ``responder:<policy>``) may have at most ``cap``
entries in the store, as the SMS's action has a cap on the entries it may add. The check
is made when an entry is queued (so the action can say so at once) and again, exactly,
in the flush's transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from garrison.auth import Principal, Role
from garrison.errors import Invalid
from garrison.reputation.model import TagCategory, parse_entry
from garrison.reputation.service import Batch, EntryInput, ReputationService
from garrison.store.reputation import NewEntry, UpsertOutcome

log = logging.getLogger("garrison.reputation.batcher")

DEFAULT_INTERVAL = 60.0  # seconds; the SMS recommends 60 minutes, configurable
DEFAULT_MAX_BATCH = 1_000
DEFAULT_CAP = 10_000
DEFAULT_MAX_PENDING = 100_000

# Who the Responder's writes are recorded as in the audit trail.
RESPONDER = Principal(
    username="responder", role=Role.ADMIN, via="responder", client_address="local"
)


class CapReached(Exception):
    """The owner already has ``cap`` entries; the entry was not queued."""


class BatcherUnavailable(Exception):
    """The batcher is stopped or its queue is full; trying later may help."""


@dataclass(frozen=True, slots=True)
class BatcherStats:
    flushes: int
    written: int  # entries added or updated by flushes so far
    pending: int


class ReputationBatcher:
    name = "reputation-batcher"

    def __init__(
        self,
        service: ReputationService,
        *,
        interval: float = DEFAULT_INTERVAL,
        max_batch: int = DEFAULT_MAX_BATCH,
        default_cap: int | None = DEFAULT_CAP,
        max_pending: int = DEFAULT_MAX_PENDING,
        principal: Principal = RESPONDER,
    ) -> None:
        if interval <= 0 or max_batch < 1 or max_pending < max_batch:
            raise ValueError("batcher: interval > 0, max_batch >= 1, max_pending >= max_batch")
        self.service = service
        self.interval = interval
        self.max_batch = max_batch
        self.default_cap = default_cap
        self.max_pending = max_pending
        self.principal = principal
        self._pending: dict[str, dict[str, NewEntry]] = {}  # owner -> entry key -> entry
        self._caps: dict[str, int | None] = {}
        self._size = 0
        self._counts: dict[str, int] = {}  # owner -> entries stored, as of the last flush
        self._categories: dict[str, TagCategory] | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._flushes = 0
        self._written = 0

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Refuse new entries, write those queued, then return."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
            if self._stopping:
                return
            await self.flush()

    @property
    def stats(self) -> BatcherStats:
        return BatcherStats(flushes=self._flushes, written=self._written, pending=self._size)

    # -- adding -------------------------------------------------------------------------

    async def _prepare(self, item: EntryInput) -> NewEntry:
        categories = self._categories
        if categories is None or any(name.strip() not in categories for name in item.tags):
            categories = await asyncio.to_thread(self.service.categories)
            self._categories = categories
        return self.service.prepare([item], categories)[0]

    async def queue(self, item: EntryInput, *, owner: str, cap: int | None = None) -> str:
        """Queue ``item`` for the next flush; return ``"queued"`` or ``"updated"`` (the
        address was already queued). Raises `Invalid` for a bad entry or tag,
        `CapReached`, or `BatcherUnavailable`."""
        if self._stopping:
            raise BatcherUnavailable("the reputation writer is stopping")
        prepared = await self._prepare(item)
        limit = self.default_cap if cap is None else cap
        key = prepared.entry.key
        queued = self._pending.get(owner, {})
        if key not in queued:
            if self._size >= self.max_pending:
                raise BatcherUnavailable(
                    f"the reputation writer holds {self._size} unwritten entries; try later"
                )
            if limit is not None and await self._at_cap(owner, limit, prepared):
                raise CapReached(f"{owner} has reached its cap of {limit} reputation entries")
        already = key in queued
        self._pending.setdefault(owner, {})[key] = prepared
        self._caps[owner] = limit
        if not already:
            self._size += 1
        if self._size >= self.max_batch:
            # Written now, by this caller: the batch is bounded, and a burst of adds is
            # slowed to the pace of the database instead of filling memory.
            await self.flush()
        return "updated" if already else "queued"

    async def _at_cap(self, owner: str, cap: int, prepared: NewEntry) -> bool:
        if owner not in self._counts:
            self._counts[owner] = await asyncio.to_thread(
                self.service.count_added_by, self.principal, owner
            )
        # Queued entries are counted as new; near the cap, one already stored for this
        # owner is a refresh, which the cap allows.
        if self._counts[owner] + len(self._pending.get(owner, {})) < cap:
            return False
        return not await asyncio.to_thread(
            self.service.owned, self.principal, prepared.entry.text, owner
        )

    async def write_now(
        self, item: EntryInput, *, owner: str, cap: int | None = None
    ) -> UpsertOutcome:
        """Write ``item`` at once in its own transaction (the action's ``aggregate:
        false``). The cap applies; a refused entry is in ``over_cap``."""
        if self._stopping:
            raise BatcherUnavailable("the reputation writer is stopping")
        prepared = await self._prepare(item)
        limit = self.default_cap if cap is None else cap
        batch = Batch(items=[prepared], added_by=owner, cap=limit)
        outcome = (await asyncio.to_thread(self.service.add_batches, self.principal, [batch]))[0]
        self._counts.pop(owner, None)
        return outcome

    async def remove(self, value: str, *, owner: str) -> int:
        """Take back ``owner``'s entry ``value``: from the queue if not yet written, and
        from the store; return 1 if it was in either, else 0."""
        entry = parse_entry(value)
        queued = self._pending.get(owner, {})
        removed = 0
        if queued.pop(entry.key, None) is not None:
            self._size -= 1
            removed = 1
        stored = await asyncio.to_thread(
            self.service.delete_owned, self.principal, [entry.text], owner
        )
        self._counts.pop(owner, None)
        return max(removed, stored)

    # -- writing ------------------------------------------------------------------------

    async def flush(self) -> int:
        """Write everything queued in one transaction; return how many entries it held.
        When the database fails, the entries stay queued for the next flush."""
        async with self._lock:
            pending, caps = self._pending, dict(self._caps)
            self._pending, self._size = {}, 0
            if not pending:
                return 0
            batches = [
                Batch(items=list(items.values()), added_by=owner, cap=caps.get(owner))
                for owner, items in pending.items()
                if items
            ]
            held = sum(len(b.items) for b in batches)
            try:
                outcomes = await asyncio.to_thread(
                    self.service.add_batches, self.principal, batches
                )
            except Invalid as exc:  # a tag category deleted since queueing: cannot pass
                log.warning("reputation: dropped %d queued entries: %s", held, exc)
                self._categories = None
                return 0
            except Exception as exc:
                log.warning("reputation: writing %d entries failed, will retry: %s", held, exc)
                self._requeue(pending)
                return 0
            self._flushes += 1
            self._written += sum(o.added + o.updated for o in outcomes)
            for batch, outcome in zip(batches, outcomes, strict=True):
                if outcome.over_cap:
                    log.warning(
                        "reputation: %s reached its cap of %s; %d entries not added",
                        batch.added_by,
                        batch.cap,
                        len(outcome.over_cap),
                    )
            self._counts.clear()  # re-read: entries expire and are deleted meanwhile
            return held

    def _requeue(self, pending: Mapping[str, Mapping[str, NewEntry]]) -> None:
        for owner, items in pending.items():
            queued = self._pending.setdefault(owner, {})
            for key, item in items.items():
                if key not in queued:  # a newer add of the same entry wins
                    queued[key] = item
                    self._size += 1
