"""The console's events pages: the search (every filter the API has, a bookmarkable GET
form), its results paged and sortable, a live tail, the CSV file of a search, one event
with all its fields, and an address with its events, Responder responses and reputation
entries.

Every read goes through `garrison.store.event_pages`, which bounds it on a table of ten
million events: a search always has a period (`events_search`), is read through one
chosen index, and a page reads a bounded number of events. The live tail is a fragment
of table rows (``/events/_tail?after=<id>``) that ``static/events.js`` asks for every
few seconds and puts on top; without the script the page still shows the newest rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from garrison.auth import Capability
from garrison.errors import Invalid, NotFound
from garrison.events.export import csv_chunks
from garrison.events.filters import EventFilters
from garrison.responder.addresses import normalize_address
from garrison.services import Services
from garrison.store import event_pages
from garrison.store.event_pages import (
    MAX_ID,
    Cursor,
    EventPages,
    SortedPage,
    StoredEvent,
    TimePage,
)
from garrison.web.pages import events_search
from garrison.web.pages import events_view as views
from garrison.web.pages.events_search import Search, read_search
from garrison.web.pages.events_view import PAGE
from garrison.web.routing import console_router
from garrison.web.session import ConsoleUser, allowed
from garrison.web.templating import render

router = console_router()

Reader = Annotated[ConsoleUser, Depends(allowed(Capability.EVENTS_READ))]
TAIL_ROWS = 10
ADDRESS_PAGE = 50
OPEN_RESPONSES = 100
PAST_RESPONSES = 25
LAST_ID_HEADER = "X-Last-Event-Id"


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def _read(request: Request, work: Any, *args: Any, **kwargs: Any) -> Any:
    """``work(pages, ...)`` in one read transaction, in the thread pool."""
    store = _services(request).store

    def run() -> Any:
        with store.transaction() as tx:
            return work(EventPages(tx.session), *args, **kwargs)

    return await run_in_threadpool(run)


# -- the search --------------------------------------------------------------------------


@router.get("/events")
async def search_page(
    request: Request,
    user: Reader,
    after: Annotated[str, Query(max_length=64)] = "",
    before: Annotated[str, Query(max_length=64)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    search = read_search(request.query_params.multi_items())
    page: TimePage | SortedPage | None = None
    page_error = ""
    if search.filters is not None:
        try:
            page = await _results(request, search, search.filters, after, before, offset)
        except Invalid as exc:
            page_error = events_search.plain(exc)
    tail, last_id = await _read(
        request, EventPages.tail, search.filters or EventFilters(), None, TAIL_ROWS
    )
    return render(
        request,
        "events/search.html",
        user,
        status=400 if search.errors or page_error else 200,
        title="Events",
        search=search,
        page=page,
        page_error=page_error,
        window_text=views.window_text(search),
        columns=views.columns(search),
        sort_links=views.sort_links(search),
        **views.pager(search, page, paged=bool(after or before or offset)),
        tail=tail,
        last_id=last_id,
        tail_query=search.tail_query(),
        budget=event_pages.BUDGET,
        **views.CHOICES,
        addressable=views.addressable,
    )


async def _results(
    request: Request,
    search: Search,
    filters: EventFilters,
    after: str,
    before: str,
    offset: int,
) -> TimePage | SortedPage:
    if search.keyset:
        cursor = Cursor.parse(before or after) if (before or after) else None
        return await _read(
            request,
            EventPages.by_time,
            filters,
            descending=search.sort.descending,
            cursor=cursor,
            backwards=bool(before),
            limit=PAGE,
        )
    return await _read(request, EventPages.sorted, filters, search.sort, offset=offset, limit=PAGE)


# -- the live tail -----------------------------------------------------------------------


@router.get("/events/_tail")
async def tail_rows(
    request: Request,
    user: Reader,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
) -> Response:
    """Table rows of the events stored after id ``after`` that match the search's filters
    (its period aside), newest first; the newest id in the header for the next call."""
    search = read_search(request.query_params.multi_items())
    if search.filters is None:
        raise Invalid("; ".join(f"{k}: {v}" for k, v in search.errors.items()))
    rows, last_id = await _read(request, EventPages.tail, search.filters, after, TAIL_ROWS)
    return render(
        request,
        "events/_tail_rows.html",
        user,
        rows=rows,
        time_field="received",
        addressable=views.addressable,
        headers={LAST_ID_HEADER: str(last_id)},
    )


# -- the CSV file ------------------------------------------------------------------------


@router.get("/events/export.csv")
async def export_csv(request: Request, user: Reader) -> Response:
    """Every event of the search (its period included), oldest first, as the API's CSV
    export writes it; streamed from the database."""
    search = read_search(request.query_params.multi_items())
    if search.filters is None:
        raise Invalid("; ".join(f"{k}: {v}" for k, v in search.errors.items()))
    filters = search.filters
    store = _services(request).store

    def rows() -> Iterator[StoredEvent]:
        with store.transaction() as tx:
            yield from EventPages(tx.session).stream(filters)

    return StreamingResponse(
        csv_chunks(rows()),
        media_type="text/csv",
        headers={
            "Content-Disposition": 'attachment; filename="events.csv"',
            "Cache-Control": "no-store",
        },
    )


# -- one address -------------------------------------------------------------------------


@router.get("/events/address/{address}")
async def address_page(
    request: Request,
    user: Reader,
    address: str,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """What Garrison knows of one address: its events as source or destination, the
    Responder's responses to it, and the reputation entries that contain it."""
    host = normalize_address(address[:100])
    events, more = await _read(
        request, EventPages.for_address, host, before=before, limit=ADDRESS_PAGE
    )
    svc = _services(request)
    principal = user.principal
    open_responses: list[Any] = []
    past_responses: list[Any] = []
    if user.can(Capability.RESPONDER_READ):
        open_responses = await run_in_threadpool(
            svc.policies.list_responses,
            principal,
            address=host,
            states=("open", "closing"),
            limit=OPEN_RESPONSES,
        )
        past_responses = await run_in_threadpool(
            svc.policies.list_responses,
            principal,
            address=host,
            states=("closed",),
            limit=PAST_RESPONSES,
        )
    entries: list[Any] = []
    if user.can(Capability.REPUTATION_READ):
        entries = await run_in_threadpool(svc.reputation.query_addresses, principal, [host])
    return render(
        request,
        "events/address.html",
        user,
        title=host,
        address=host,
        events=events,
        more=more,
        before=before,
        open_responses=open_responses,
        past_responses=past_responses,
        entries=entries,
        can_responder=user.can(Capability.RESPONDER_READ),
        can_reputation=user.can(Capability.REPUTATION_READ),
        addressable=views.addressable,
    )


# -- one event ---------------------------------------------------------------------------


@router.get("/events/{event_id:int}")
async def event_page(request: Request, user: Reader, event_id: int) -> Response:
    if event_id > MAX_ID:
        raise NotFound(f"no event with id {event_id}")
    stored = await run_in_threadpool(_services(request).events.get, user.principal, event_id)
    event = stored.event
    params = event.message_params.split("|") if event.message_params else []
    return render(
        request,
        "events/event.html",
        user,
        title=f"Event {stored.id}",
        stored=stored,
        event=event,
        params=params,
        extra=sorted(event.extra.items()),
        addressable=views.addressable,
    )
