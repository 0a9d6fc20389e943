"""Events: query, count, top-N, CSV export, one event, HTTPS batch ingest, and the live
stream over a WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.websockets import WebSocketDisconnect, WebSocketState

from garrison.api.deps import API_KEY_HEADER, SESSION_COOKIE, CurrentPrincipal, services
from garrison.api.errors import error_response
from garrison.api.event_schemas import (
    EventCount,
    EventFields,
    EventOut,
    IngestAccepted,
    TopEntryOut,
)
from garrison.api.routes import error_responses
from garrison.auth import Principal
from garrison.collectors.ingest import MAX_BATCH, IngestEvent, normalize
from garrison.errors import Forbidden, Invalid, Unauthorized
from garrison.events.bus import Subscription
from garrison.events.export import csv_chunks
from garrison.events.filters import (
    FILTER_HELP,
    SORT_HELP,
    EventFilters,
    Sort,
    parse_filters,
    parse_query,
    parse_sort,
)
from garrison.services import Services

router = APIRouter(prefix="/events", tags=["events"])
log = logging.getLogger("garrison.api.events")

MAX_EVENT_ID = 2**63 - 1
STREAM_BATCH = 500  # events in one WebSocket message at most
STREAM_KEY_PARAM = "api_key"


class HideApiKey(logging.Filter):
    """uvicorn logs a WebSocket's path with its query string; a client that cannot set
    headers puts its key there (?api_key=), and a key must never reach a log."""

    pattern = re.compile(r"(api_key=)[^&\s\"]*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.pattern.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = self.pattern.sub(r"\1***", record.msg)
        return True


logging.getLogger("uvicorn.error").addFilter(HideApiKey())


def _many(name: str) -> list[str] | None:
    return Query(None, description=FILTER_HELP[name], max_length=2000)


def event_filters(
    since: str | None = Query(None, description=FILTER_HELP["since"], max_length=64),
    until: str | None = Query(None, description=FILTER_HELP["until"], max_length=64),
    time_field: Literal["received", "end"] = Query(
        "received", description=FILTER_HELP["time_field"]
    ),
    device: list[str] | None = _many("device"),
    severity: list[str] | None = _many("severity"),
    min_severity: str | None = Query(None, description=FILTER_HELP["min_severity"], max_length=16),
    signature: list[str] | None = _many("signature"),
    category: list[str] | None = _many("category"),
    src: list[str] | None = _many("src"),
    dst: list[str] | None = _many("dst"),
    src_port: list[str] | None = _many("src_port"),
    dst_port: list[str] | None = _many("dst_port"),
    action: list[str] | None = _many("action"),
    kind: list[str] | None = _many("kind"),
    name: str | None = Query(None, description=FILTER_HELP["name"], max_length=255),
) -> EventFilters:
    return parse_filters(
        since=since,
        until=until,
        time_field=time_field,
        device=device,
        severity=severity,
        min_severity=min_severity,
        signature=signature,
        category=category,
        src=src,
        dst=dst,
        src_port=src_port,
        dst_port=dst_port,
        action=action,
        kind=kind,
        name=name,
    )


def event_sort(sort: str | None = Query(None, description=SORT_HELP, max_length=32)) -> Sort:
    return parse_sort(sort)


Filters = Annotated[EventFilters, Depends(event_filters)]
Order = Annotated[Sort, Depends(event_sort)]


@router.get("", response_model=list[EventOut], responses=error_responses(403))
def list_events(
    principal: CurrentPrincipal,
    filters: Filters,
    sort: Order,
    svc: Services = Depends(services),
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(100, ge=1, le=1000),
) -> list[EventOut]:
    """One page of stored events that match every filter given."""
    page = svc.events.query(principal, filters, sort=sort, offset=offset, limit=limit)
    return [EventOut.of_stored(e) for e in page]


@router.get("/count", response_model=EventCount, responses=error_responses(403))
def count_events(
    principal: CurrentPrincipal, filters: Filters, svc: Services = Depends(services)
) -> EventCount:
    """How many stored events match."""
    return EventCount(count=svc.events.count(principal, filters))


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={**error_responses(403), 200: {"content": {"text/csv": {}}}},
)
def export_events(
    principal: CurrentPrincipal,
    filters: Filters,
    sort: Order,
    svc: Services = Depends(services),
) -> StreamingResponse:
    """Every matching event as CSV (a header row, then one row an event), streamed from
    the database as it is read; default order is oldest first."""
    chosen = sort if sort != Sort() else Sort("id", False)
    rows = svc.events.export(principal, filters, chosen)
    return StreamingResponse(
        csv_chunks(rows),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="events.csv"'},
    )


@router.get("/top", response_model=list[TopEntryOut], responses=error_responses(403))
def top_events(
    principal: CurrentPrincipal,
    filters: Filters,
    svc: Services = Depends(services),
    by: Literal["src_ip", "dst_ip", "signature", "device"] = Query(
        ..., description="What to count: attackers (src_ip), targets (dst_ip), signatures, devices"
    ),
    n: int = Query(10, ge=1, le=1000, description="How many, most frequent first"),
) -> list[TopEntryOut]:
    """The most frequent sources, destinations, signatures or devices among matches."""
    return [TopEntryOut.of(e) for e in svc.events.top(principal, by, filters, n)]


@router.post(
    "/ingest",
    response_model=IngestAccepted,
    status_code=202,
    responses=error_responses(403, 413),
)
def ingest_events(
    request: Request,
    principal: CurrentPrincipal,
    events: Annotated[list[IngestEvent], Body(max_length=MAX_BATCH)],
    svc: Services = Depends(services),
) -> IngestAccepted:
    """HTTPS batch ingest for devices that push: a JSON array of up to 10,000 events.
    The whole batch is validated first: one bad item refuses it all (422, naming the item's
    index and field) and nothing is published."""
    address = request.client.host if request.client else ""
    accepted = svc.events.ingest(principal, normalize(events, address))
    svc.metrics.events_ingested.inc(accepted)
    return IngestAccepted(accepted=accepted)


@router.get("/{event_id}", response_model=EventOut, responses=error_responses(403, 404))
def get_event(
    event_id: Annotated[int, Path(ge=1, le=MAX_EVENT_ID, description="event id")],
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
) -> EventOut:
    return EventOut.of_stored(svc.events.get(principal, event_id))


# -- the live stream --------------------------------------------------------------------


def _authenticate(svc: Services, websocket: WebSocket) -> Principal:
    """The credentials `deps.current_principal` takes, plus ``?api_key=`` for browsers and
    other clients that cannot set a header on a WebSocket."""
    address = websocket.client.host if websocket.client else ""
    key = websocket.headers.get(API_KEY_HEADER) or websocket.query_params.get(STREAM_KEY_PARAM)
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    session = websocket.cookies.get(SESSION_COOKIE)
    try:
        if key:
            return svc.auth.authenticate_api_key(key, address)
        if scheme.lower() == "bearer" and token:
            return svc.auth.authenticate_api_key(token.strip(), address)
        if session:
            return svc.auth.authenticate_session(session, address)
        raise Unauthorized(f"authentication required: send an {API_KEY_HEADER} header")
    except Unauthorized as exc:
        svc.metrics.auth_failures.labels(reason=str(exc).split(":")[0][:40]).inc()
        raise


def _credentials_and_filters(svc: Services, websocket: WebSocket) -> tuple[Principal, EventFilters]:
    principal = _authenticate(svc, websocket)
    filters = parse_query(websocket.query_params.multi_items(), ignore=(STREAM_KEY_PARAM,))
    return principal, filters


@router.websocket("/stream")
async def stream_events(websocket: WebSocket) -> None:
    """Newly published events matching the filters (the same query parameters as the
    listing), as JSON lines: each text message holds one or more events, one a line."""
    svc: Services = websocket.app.state.services
    try:
        # Authentication reads the database: in a worker thread, not on the loop.
        principal, filters = await run_in_threadpool(_credentials_and_filters, svc, websocket)
        capacity = svc.settings.events.stream_capacity
        # The bus belongs to the loop: subscribe here, not in the worker thread.
        subscription = svc.events.subscribe(principal, filters, capacity=capacity, name="ws")
    except (Unauthorized, Forbidden, Invalid) as exc:
        status = {Unauthorized: 401, Forbidden: 403, Invalid: 422}[type(exc)]
        code = {401: "unauthorized", 403: "forbidden", 422: "unprocessable_entity"}[status]
        await websocket.send_denial_response(error_response(status, code, str(exc)))
        return
    await websocket.accept()
    svc.metrics.events_stream_clients.inc()
    try:
        await _serve(websocket, subscription, svc)
    finally:
        subscription.close()
        svc.metrics.events_stream_clients.dec()
        if WebSocketState.DISCONNECTED not in (websocket.client_state, websocket.application_state):
            with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
                await websocket.close(1001)  # going away: the server stops


async def _serve(websocket: WebSocket, subscription: Subscription, svc: Services) -> None:
    """Forward events until the client leaves or the server closes the connection."""
    sender = asyncio.create_task(_send(websocket, subscription, svc))
    listener = asyncio.create_task(_until_closed(websocket))
    done, pending = await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in (*done, *pending):
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, OSError):
            await task


async def _until_closed(websocket: WebSocket) -> None:
    # What the client sends is ignored; the disconnect message is what matters (it also
    # comes when the server shuts down).
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _send(websocket: WebSocket, subscription: Subscription, svc: Services) -> None:
    reported = 0
    while True:
        batch = await subscription.next_batch(STREAM_BATCH)
        if not batch:
            return
        if subscription.dropped > reported:
            svc.metrics.events_stream_dropped.inc(subscription.dropped - reported)
            reported = subscription.dropped
        lines = "\n".join(EventFields.of(event).model_dump_json() for event in batch)
        await websocket.send_text(lines)
