"""Pages of events for the console, each read bounded on a table of ten million rows.

`EventRows.query` leaves the choice of index to the database. Without statistics
(Garrison runs no ANALYZE) SQLite takes any equality as selective: ``severity = 4`` sends
it down the severity index to sort a quarter of the table, and ``ORDER BY id`` with a
category that matches nothing walks every row. A console page cannot wait on that, so
here the page chooses the one index a query goes through (it drives), and every other
condition is made opaque to the planner (`opaque`: ``coalesce(col, col)``, the same value,
which no index serves, on every backend):

- *By key*: an indexed filter (signature, device, source, destination, severity) that a
  cheap probe finds matching at most `PROBE` events in all: those are read through its
  index and sorted; nothing else is read.
- *By time*: otherwise the time index, over the page's period (it always has one: the
  console bounds every search by time), in time order, stopping when the page is full.
  One page reads at most `BUDGET` events of the period: when the period holds more, the
  page covers the part next to its cursor (`TimePage.searched_to`) and links on to the
  rest, so a filter matching nothing costs a bounded read and not a scan.

Time-ordered results page by keyset (a `Cursor`: the last row's time and id); other
orders by offset, up to `MAX_OFFSET`, sorted among at most `BUDGET` events of the period.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, ColumnElement, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import replacement_traverse

from garrison.errors import Invalid
from garrison.events.addresses import address_number
from garrison.events.filters import EventFilters, Sort
from garrison.store.events import (
    COLUMNS,
    EVENTS,
    SORT_COLUMNS,
    StoredEvent,
    conditions,
    split_number,
    stored_event,
)

BUDGET = 100_000  # events of the period one page may read
PROBE = 20_000  # an indexed filter matching at most this many events drives the query
MAX_OFFSET = 10_000  # how deep offset paging goes; then the search must be narrowed
TAIL_SCAN = 10_000  # the newest ids a live tail looks through at most
MAX_ID = 2**63 - 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def opaque(expression: ColumnElement[Any]) -> ColumnElement[Any]:
    """``expression`` with each events column replaced by ``coalesce(col, col)``: the same
    values, but no index can serve it, so the planner cannot drive the query through it."""

    def swap(element: Any) -> Any:
        if isinstance(element, Column) and element.table is EVENTS:
            return func.coalesce(element, element, type_=element.type)
        return None

    return replacement_traverse(expression, {}, swap)


def time_column(filters: EventFilters) -> Column[Any]:
    return COLUMNS.received_at if filters.time_field == "received" else COLUMNS.end_time


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a time-ordered page ends: its last event's time and id. Rows "past" it are
    those after it in the page's order."""

    moment: datetime
    id: int

    def text(self) -> str:
        """The cursor in a page link: microseconds since 1970 and the id."""
        return f"{(self.moment - EPOCH) // MICROSECOND}_{self.id}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        micros, _, ident = text.partition("_")
        damaged = Invalid("the page link is damaged; start the search again")
        if not (micros.isdigit() and ident.isdigit() and len(micros) <= 18 and len(ident) <= 19):
            raise damaged
        row = int(ident)
        try:
            moment = EPOCH + int(micros) * MICROSECOND
        except OverflowError:
            raise damaged from None
        if row > MAX_ID:
            raise damaged
        return cls(moment, row)


@dataclass(frozen=True, slots=True)
class TimePage:
    """Events in the page's time order. ``previous`` and ``next`` continue the same search
    before and after this page (None: nothing more that way). ``searched_to``: the page
    read its `BUDGET` of events without filling up, and looked no further than this time
    (``next`` goes on from there)."""

    events: list[StoredEvent]
    previous: Cursor | None
    next: Cursor | None
    searched_to: datetime | None
    driven_by: str


@dataclass(frozen=True, slots=True)
class SortedPage:
    """Events in another order, from ``offset``; ``more`` when a next page exists.
    ``sorted_from``: the period held more than `BUDGET` events, and the order is among
    those received from this time on."""

    events: list[StoredEvent]
    offset: int
    more: bool
    sorted_from: datetime | None
    driven_by: str


# -- which index drives ------------------------------------------------------------------


def _keys(filters: EventFilters) -> list[tuple[str, EventFilters, EventFilters]]:
    """(name, the filter alone, the rest) for each indexed filter the search has."""
    f = filters
    found = []
    if f.signature_numbers or f.signature_ids:
        alone = EventFilters(signature_numbers=f.signature_numbers, signature_ids=f.signature_ids)
        found.append(("signature", alone, replace(f, signature_numbers=(), signature_ids=())))
    if f.device_ids or f.device_names:
        alone = EventFilters(device_ids=f.device_ids, device_names=f.device_names)
        found.append(("device", alone, replace(f, device_ids=(), device_names=())))
    if f.src:
        found.append(("src", EventFilters(src=f.src), replace(f, src=())))
    if f.dst:
        found.append(("dst", EventFilters(dst=f.dst), replace(f, dst=())))
    if f.severities:
        found.append(("severity", EventFilters(severities=f.severities), replace(f, severities=())))
    return found


Bound = tuple[datetime, bool]  # a time, and whether the bound includes it


@dataclass(frozen=True, slots=True)
class Span:
    """The part of the period a read covers, as one lower and one upper bound of the time
    index: two bounds on one side (the period's and a cursor's) could leave the looser
    one for the planner to read from."""

    low: Bound
    high: Bound

    def above(self, moment: datetime, inclusive: bool = True) -> Span:
        """This span, starting no earlier than ``moment``."""
        value, _ = self.low
        if moment > value or (moment == value and not inclusive):
            return Span((moment, inclusive), self.high)
        return self

    def below(self, moment: datetime, inclusive: bool = True) -> Span:
        """This span, ending no later than ``moment``."""
        value, _ = self.high
        if moment < value or (moment == value and not inclusive):
            return Span(self.low, (moment, inclusive))
        return self

    def conditions(self, moment: Column[Any]) -> list[ColumnElement[bool]]:
        (low, low_in), (high, high_in) = self.low, self.high
        return [
            moment >= low if low_in else moment > low,
            moment <= high if high_in else moment < high,
        ]


@dataclass(frozen=True, slots=True)
class Plan:
    driven_by: str  # "time" or the name of the indexed filter
    key: list[ColumnElement[bool]]  # what the driving filter's index serves (by key)
    rest: list[ColumnElement[bool]]  # every other condition, opaque
    span: Span  # the period (by time: the bounds of the time index)

    @property
    def by_time(self) -> bool:
        return self.driven_by == "time"

    def where(self, moment: Column[Any], span: Span | None = None) -> list[ColumnElement[bool]]:
        """The conditions of a read of ``span`` (the whole period by default)."""
        if self.by_time:
            return [*(span or self.span).conditions(moment), *self.rest]
        return [*self.key, *self.rest]


class EventPages:
    """The console's reads of the events table, in the session of one transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _probe(self, alone: EventFilters) -> int:
        """How many events one indexed filter matches, counting no further than PROBE + 1
        (an index-only read of at most that many entries)."""
        inner = select(COLUMNS.id).where(*conditions(alone)).limit(PROBE + 1).subquery()
        return self._session.scalar(select(func.count()).select_from(inner)) or 0

    def plan(self, filters: EventFilters) -> Plan:
        """Through which index ``filters`` (with a period) is read; see the module."""
        if filters.since is None or filters.until is None:
            raise ValueError("a console search needs a period (since and until)")
        best: tuple[int, str, EventFilters, EventFilters] | None = None
        for name, alone, rest in _keys(filters):
            matches = self._probe(alone)
            if matches <= PROBE and (best is None or matches < best[0]):
                best = (matches, name, alone, rest)
        span = Span((filters.since, True), (filters.until, False))
        if best is not None:
            _, name, alone, rest = best
            return Plan(name, conditions(alone), [opaque(c) for c in conditions(rest)], span)
        rest = replace(filters, since=None, until=None)
        return Plan("time", [], [opaque(c) for c in conditions(rest)], span)

    # -- time order, keyset pages -----------------------------------------------------------

    def by_time(
        self,
        filters: EventFilters,
        *,
        descending: bool = True,
        cursor: Cursor | None = None,
        backwards: bool = False,
        limit: int = 50,
    ) -> TimePage:
        """A page in time order (ties by id): the events after ``cursor`` in the page's
        order or, ``backwards``, those just before it (a "previous" link)."""
        plan = self.plan(filters)
        moment = time_column(filters)
        down = descending != backwards  # the direction the rows are read in
        span = plan.span
        extra: list[ColumnElement[bool]] = []
        if cursor is not None:
            span = span.below(cursor.moment) if down else span.above(cursor.moment)
            extra.append(_tie(moment, cursor, down))
        edge = self._budget_edge(span, moment, down) if plan.by_time else None
        if edge is not None:
            span = span.above(edge) if down else span.below(edge)
        where = [*plan.where(moment, span), *extra]
        if not plan.by_time:  # the key's read: the span is a filter like the others
            where += [opaque(c) for c in span.conditions(moment)]
        order = (moment, COLUMNS.id) if plan.by_time else (opaque(moment), opaque(COLUMNS.id))
        query = select(EVENTS).where(*where)
        query = query.order_by(*(c.desc() if down else c.asc() for c in order)).limit(limit + 1)
        rows = [stored_event(r) for r in self._session.execute(query)]
        full = len(rows) > limit
        rows = rows[:limit]
        onward: Cursor | None = None
        if full:
            onward = _key(rows[-1], moment)
        elif edge is not None:  # the budget ended the read: go on from its edge
            onward = Cursor(edge, 0 if down else MAX_ID)
        # Where this page came from lies the other way (none on a first page).
        back = None if cursor is None else _key(rows[0], moment) if rows else cursor
        if backwards:
            rows.reverse()
        return TimePage(
            events=rows,
            previous=onward if backwards else back,
            next=back if backwards else onward,
            searched_to=edge if edge is not None and not full else None,
            driven_by=plan.driven_by,
        )

    def _budget_edge(self, span: Span, moment: Column[Any], down: bool) -> datetime | None:
        """The time of the BUDGET-th event the read would pass (an index-only read), or
        None when what is left of the period holds fewer."""
        query = select(moment).where(*span.conditions(moment))
        query = query.order_by(moment.desc() if down else moment.asc())
        return self._session.scalar(query.offset(BUDGET).limit(1))

    # -- other orders, offset pages ---------------------------------------------------------

    def sorted(
        self, filters: EventFilters, sort: Sort, *, offset: int = 0, limit: int = 50
    ) -> SortedPage:
        if not 0 <= offset <= MAX_OFFSET:
            raise Invalid(
                f"pages go {MAX_OFFSET:,} events deep at most; narrow the search to see further"
            )
        plan = self.plan(filters)
        moment = time_column(filters)
        edge = self._budget_edge(plan.span, moment, True) if plan.by_time else None
        where = plan.where(moment, plan.span.above(edge) if edge is not None else None)
        columns = SORT_COLUMNS[sort.field]
        if sort.field != "id":
            columns = (*columns, COLUMNS.id)
        # Opaque, so that no index is walked for the order: the rows are the period's.
        order = [opaque(c).desc() if sort.descending else opaque(c).asc() for c in columns]
        query = select(EVENTS).where(*where).order_by(*order).offset(offset).limit(limit + 1)
        rows = [stored_event(r) for r in self._session.execute(query)]
        return SortedPage(
            events=rows[:limit],
            offset=offset,
            more=len(rows) > limit and offset + limit <= MAX_OFFSET,
            sorted_from=edge,
            driven_by=plan.driven_by,
        )

    # -- the CSV file ---------------------------------------------------------------------

    def stream(self, filters: EventFilters, chunk: int = 2000) -> Iterator[StoredEvent]:
        """Every event of the search, oldest first, read ``chunk`` rows at a time: the
        index order, so the first rows come at once, and no budget (a file, not a page)."""
        plan = self.plan(filters)
        moment = time_column(filters)
        order = (moment, COLUMNS.id) if plan.by_time else (opaque(moment), opaque(COLUMNS.id))
        query = select(EVENTS).where(*plan.where(moment)).order_by(*order)
        options = {"stream_results": True, "yield_per": chunk}
        with closing(self._session.execute(query, execution_options=options)) as rows:
            yield from map(stored_event, rows)

    # -- the live tail ----------------------------------------------------------------------

    def tail(
        self, filters: EventFilters, after: int | None, limit: int = 20
    ) -> tuple[list[StoredEvent], int]:
        """The newest events (newest first, at most ``limit``) stored after id ``after``
        among the newest TAIL_SCAN ids, and the newest id now (the next ``after``). The
        time period of ``filters`` is not applied: a tail is about now."""
        newest = self._session.scalar(select(func.max(COLUMNS.id))) or 0
        floor = max(after or 0, newest - TAIL_SCAN)
        rest = replace(filters, since=None, until=None)
        query = select(EVENTS).where(COLUMNS.id > floor, COLUMNS.id <= newest)
        query = query.where(*(opaque(c) for c in conditions(rest)))
        query = query.order_by(COLUMNS.id.desc()).limit(limit)
        return [stored_event(r) for r in self._session.execute(query)], newest

    # -- one address ------------------------------------------------------------------------

    def for_address(
        self, address: str, *, before: int | None = None, limit: int = 50
    ) -> tuple[list[StoredEvent], bool]:
        """Events with ``address`` as source or destination, newest stored first, below id
        ``before``; and whether there are more. Two reads of the address indexes, each in
        id order (the index holds the row id after the address) and stopped at ``limit``."""
        number = address_number(address)
        if number is None:
            raise Invalid(f"{address[:60]!r} is not an IPv4 or IPv6 address")
        hi, lo = split_number(number)
        found: dict[int, StoredEvent] = {}
        for hi_col, lo_col in (
            (COLUMNS.src_ip_hi, COLUMNS.src_ip_lo),
            (COLUMNS.dst_ip_hi, COLUMNS.dst_ip_lo),
        ):
            query = select(EVENTS).where(hi_col == hi, lo_col == lo)
            if before is not None:
                query = query.where(COLUMNS.id < before)
            query = query.order_by(COLUMNS.id.desc()).limit(limit + 1)
            for row in self._session.execute(query):
                found[row.id] = stored_event(row)
        ordered = sorted(found.values(), key=lambda s: s.id, reverse=True)
        return ordered[:limit], len(ordered) > limit


def _key(stored: StoredEvent, moment: Column[Any]) -> Cursor:
    value = stored.event.received_at if moment is COLUMNS.received_at else stored.event.end_time
    assert value is not None  # the period excludes events without this time
    return Cursor(value, stored.id)


def _tie(moment: Column[Any], cursor: Cursor, down: bool) -> ColumnElement[bool]:
    """Rows past ``cursor`` at its very time, read downwards (older) or upwards (newer):
    the span's bound holds the cursor's time; this breaks the tie by id. Opaque: its OR
    must not tempt the planner into reading two indexes."""
    if down:
        tie = or_(moment < cursor.moment, COLUMNS.id < cursor.id)
    else:
        tie = or_(moment > cursor.moment, COLUMNS.id > cursor.id)
    return opaque(tie)
