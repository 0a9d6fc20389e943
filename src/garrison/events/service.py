"""Reading stored events, and taking pushed ones onto the bus, with the caller's rights
checked. The API and the CLI both call this."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from garrison.auth import Capability, Principal
from garrison.errors import Invalid, NotFound
from garrison.events.bus import EventBus, Subscription
from garrison.events.filters import EventFilters, Sort
from garrison.events.model import Event
from garrison.store import Store
from garrison.store.events import TOP_FIELDS, EventRows, StoredEvent, TopEntry

__all__ = ["EventService", "StoredEvent", "TopEntry"]

MAX_PAGE = 10_000


class EventService:
    def __init__(self, store: Store, bus: EventBus) -> None:
        self.store = store
        self.bus = bus

    def query(
        self,
        actor: Principal,
        filters: EventFilters,
        *,
        sort: Sort = Sort(),
        offset: int = 0,
        limit: int = 100,
    ) -> list[StoredEvent]:
        """One page of matching events."""
        actor.require(Capability.EVENTS_READ)
        if offset < 0 or not 1 <= limit <= MAX_PAGE:
            raise Invalid(f"offset must be >= 0 and limit 1-{MAX_PAGE}")
        with self.store.transaction() as tx:
            return EventRows(tx.session).query(filters, sort, offset, limit)

    def count(self, actor: Principal, filters: EventFilters) -> int:
        actor.require(Capability.EVENTS_READ)
        with self.store.transaction() as tx:
            return EventRows(tx.session).count(filters)

    def get(self, actor: Principal, event_id: int) -> StoredEvent:
        actor.require(Capability.EVENTS_READ)
        with self.store.transaction() as tx:
            stored = EventRows(tx.session).get(event_id)
        if stored is None:
            raise NotFound(f"no event with id {event_id}")
        return stored

    def top(
        self, actor: Principal, field: str, filters: EventFilters, n: int = 10
    ) -> list[TopEntry]:
        """The ``n`` most frequent attackers (src_ip), targets (dst_ip), signatures or
        devices among matching events."""
        actor.require(Capability.EVENTS_READ)
        if field not in TOP_FIELDS:
            raise Invalid(f"by: {field!r} is not one of {', '.join(TOP_FIELDS)}")
        if not 1 <= n <= 1000:
            raise Invalid("n: must be 1-1000")
        with self.store.transaction() as tx:
            return EventRows(tx.session).top(field, filters, n)

    def export(
        self, actor: Principal, filters: EventFilters, sort: Sort = Sort("id", False)
    ) -> Iterator[StoredEvent]:
        """Every matching event, streamed; the rights are checked now, not at the first
        row, so a refusal is an error and not an empty file."""
        actor.require(Capability.EVENTS_READ)
        return self._export(filters, sort)

    def _export(self, filters: EventFilters, sort: Sort) -> Iterator[StoredEvent]:
        with self.store.transaction() as tx:
            yield from EventRows(tx.session).stream(filters, sort)

    def newest_id(self, actor: Principal) -> int | None:
        actor.require(Capability.EVENTS_READ)
        with self.store.transaction() as tx:
            return EventRows(tx.session).newest_id()

    def since_id(
        self, actor: Principal, after: int, filters: EventFilters, limit: int = 1000
    ) -> list[StoredEvent]:
        """Events stored after id ``after``, oldest first: what a tail prints next."""
        actor.require(Capability.EVENTS_READ)
        with self.store.transaction() as tx:
            return EventRows(tx.session).since_id(after, filters, min(limit, MAX_PAGE))

    def ingest(self, actor: Principal, events: Sequence[Event]) -> int:
        """Publish events a device pushed; the writer stores them like any collector's."""
        actor.require(Capability.EVENTS_INGEST)
        self.bus.publish_many(events)
        return len(events)

    def subscribe(
        self, actor: Principal, filters: EventFilters, *, capacity: int, name: str = "stream"
    ) -> Subscription:
        """A live queue of newly published events that match ``filters``; close it when
        done."""
        actor.require(Capability.EVENTS_READ)
        return self.bus.subscribe(name, capacity=capacity, accepts=filters.matches)
